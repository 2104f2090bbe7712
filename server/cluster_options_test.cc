// The replicated server's option parsing (cluster.h): --raft-bootstrap specs,
// HOST:PORT addresses and Redis Cluster node names. The cluster's behaviour
// under faults is tested by server/cluster_test.py (server_cluster_smoke).
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "server/cluster.h"

namespace lsmkv::server {
namespace {

using Voters = std::vector<std::pair<uint64_t, std::string>>;

TEST(ClusterOptionsTest, BootstrapSpec) {
  Voters v;
  EXPECT_EQ(ParseBootstrap("1=127.0.0.1:7001,2=127.0.0.1:7002,3=h:7003", &v), "");
  EXPECT_EQ(v, (Voters{{1, "127.0.0.1:7001"}, {2, "127.0.0.1:7002"}, {3, "h:7003"}}));
  EXPECT_EQ(ParseBootstrap("", &v), "");
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(ParseBootstrap("9=[::1]:7000", &v), "");
  EXPECT_EQ(v, (Voters{{9, "[::1]:7000"}}));
  for (const char* bad : {"1=h:1,", "0=h:1", "1=h", "1=h:0", "1=h:65536", "1=:5", "x=h:1", "1h:1",
                          "1=h:1,1=g:2", ",1=h:1", "-1=h:1", "1=h:1x"}) {
    EXPECT_NE(ParseBootstrap(bad, &v), "") << bad;
  }
}

TEST(ClusterOptionsTest, HostPort) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:6380", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 6380);
  EXPECT_FALSE(SplitHostPort("6380", &host, &port));
  EXPECT_FALSE(SplitHostPort(":6380", &host, &port));
  EXPECT_FALSE(SplitHostPort("h:", &host, &port));
  EXPECT_FALSE(SplitHostPort("h:99999", &host, &port));
}

TEST(ClusterOptionsTest, NodeNamesAreFortyHexDigits) {
  EXPECT_EQ(Cluster::NodeName(1), std::string(39, '0') + "1");
  EXPECT_EQ(Cluster::NodeName(0xabc).size(), 40u);
  EXPECT_NE(Cluster::NodeName(2), Cluster::NodeName(3));
}

TEST(ClusterOptionsTest, AddressInClusterNodes) {
  const std::string nodes = Cluster::NodeName(1) +
                            " 127.0.0.1:7001@0 myself,master - 0 0 3 connected " + "0-16383\n" +
                            Cluster::NodeName(12) + " 10.0.0.2:7002@0 slave x 0 0 3 connected\n" +
                            Cluster::NodeName(3) + " :0@0 slave x 0 0 3 connected\n";
  EXPECT_EQ(AddressInNodes(nodes, 1), "127.0.0.1:7001");
  EXPECT_EQ(AddressInNodes(nodes, 12), "10.0.0.2:7002");
  EXPECT_EQ(AddressInNodes(nodes, 3), "");  // listed without an address
  EXPECT_EQ(AddressInNodes(nodes, 2), "");
  EXPECT_EQ(AddressInNodes("", 1), "");
}

}  // namespace
}  // namespace lsmkv::server
