#include "server/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

#include <exception>
#include <limits>

#include "server/client_state.h"
#include "server/command_table.h"
#include "server/engine_stats.h"
#include "server/expiry_filter.h"
#include "server/info.h"
#include "server/keyspace.h"

namespace lsmkv::server {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

double Load(const std::atomic<uint64_t>& v) {
  return static_cast<double>(v.load(std::memory_order_relaxed));
}

MetricFamily Family(const std::string& name, const std::string& help, MetricType type) {
  MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  return family;
}

void AddSample(MetricFamily* family, double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (family->type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family->metric.push_back(std::move(metric));
}

}  // namespace

class MetricsCollector : public prometheus::Collectable {
 public:
  explicit MetricsCollector(ServerContext* context) : context_(context) {}

  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> families;
    CollectCommands(&families);
    CollectServer(&families);
    CollectEngine(&families);
    return families;
  }

 private:
  void CollectCommands(std::vector<MetricFamily>* out) const {
    MetricFamily calls = Family("lsmkv_server_commands_total", "Commands executed, by command.",
                                MetricType::Counter);
    MetricFamily failures = Family(
        "lsmkv_server_command_errors_total",
        "Commands that replied with an error or were rejected, by command.", MetricType::Counter);
    MetricFamily latency = Family("lsmkv_server_command_duration_seconds",
                                  "Command execution time, by command.", MetricType::Histogram);
    for (const auto& spec : context_->commands->all()) {
      const CommandStats& st = spec->stats;
      const double n = Load(st.calls);
      const double errors = Load(st.failed_calls) + Load(st.rejected_calls);
      if (n == 0 && errors == 0) continue;
      std::vector<ClientMetric::Label> labels = {{"command", spec->name}};
      AddSample(&calls, n, labels);
      AddSample(&failures, errors, labels);
      ClientMetric h;
      h.label = labels;
      uint64_t cumulative = 0;
      for (size_t b = 0; b < st.buckets.size(); b++) {
        cumulative += st.buckets[b].load(std::memory_order_relaxed);
        ClientMetric::Bucket bucket;
        bucket.cumulative_count = cumulative;
        bucket.upper_bound = b < kLatencyBucketsMicros.size()
                                 ? static_cast<double>(kLatencyBucketsMicros[b]) / 1e6
                                 : std::numeric_limits<double>::infinity();
        h.histogram.bucket.push_back(bucket);
      }
      h.histogram.sample_count = cumulative;
      h.histogram.sample_sum = Load(st.micros) / 1e6;
      latency.metric.push_back(std::move(h));
    }
    out->push_back(std::move(calls));
    out->push_back(std::move(failures));
    out->push_back(std::move(latency));
  }

  void CollectServer(std::vector<MetricFamily>* out) const {
    const ServerStats& st = *context_->stats;
    Keyspace& ks = *context_->keyspace;
    auto counter = [&](const char* name, const char* help, double value) {
      MetricFamily f = Family(name, help, MetricType::Counter);
      AddSample(&f, value);
      out->push_back(std::move(f));
    };
    auto gauge = [&](const char* name, const char* help, double value) {
      MetricFamily f = Family(name, help, MetricType::Gauge);
      AddSample(&f, value);
      out->push_back(std::move(f));
    };
    gauge("lsmkv_server_connected_clients", "Clients connected now.",
          static_cast<double>(context_->clients->size()));
    counter("lsmkv_server_connections_received_total", "Connections accepted.",
            Load(st.connections_received));
    counter("lsmkv_server_rejected_connections_total", "Connections refused (maxclients).",
            Load(st.rejected_connections));
    counter("lsmkv_server_net_input_bytes_total", "Bytes read from clients.",
            Load(st.net_input_bytes));
    counter("lsmkv_server_net_output_bytes_total", "Bytes written to clients.",
            Load(st.net_output_bytes));
    counter("lsmkv_server_protocol_errors_total", "Connections closed for a protocol error.",
            Load(st.protocol_errors));
    counter("lsmkv_server_request_timeouts_total",
            "Connections closed because a request stayed incomplete past "
            "client-request-timeout.",
            Load(st.request_timeouts));
    counter("lsmkv_server_auth_failures_total", "AUTH attempts with a wrong password.",
            Load(st.auth_failures));
    counter("lsmkv_server_auth_rate_limited_total",
            "AUTH attempts refused unchecked: their address had too many failures.",
            Load(st.auth_rate_limited));
    counter("lsmkv_server_auth_disconnects_total",
            "Connections closed at auth-max-failures failed AUTHs.", Load(st.auth_disconnects));
    counter("lsmkv_server_protected_mode_refusals_total",
            "Non-loopback clients refused by protected mode.", Load(st.protected_mode_refusals));
    counter("lsmkv_server_keyspace_hits_total", "Key lookups that found a key.",
            Load(ks.keyspace_hits));
    counter("lsmkv_server_keyspace_misses_total", "Key lookups that found nothing.",
            Load(ks.keyspace_misses));
    MetricFamily expired = Family("lsmkv_server_expired_keys_total",
                                  "Expired keys removed, by mechanism.", MetricType::Counter);
    AddSample(&expired, Load(ks.expired_keys), {{"by", "sweep"}});
    AddSample(&expired,
              context_->expiry_filter ? static_cast<double>(context_->expiry_filter->removed()) : 0,
              {{"by", "compaction"}});
    out->push_back(std::move(expired));
    MetricFamily errors =
        Family("lsmkv_server_error_replies_total",
               "Error replies sent, by error code (ERR, WRONGTYPE, ...).", MetricType::Counter);
    for (const auto& [code, count] : st.errors.ByCode()) {
      AddSample(&errors, static_cast<double>(count), {{"code", code}});
    }
    out->push_back(std::move(errors));
    gauge("lsmkv_server_resident_memory_bytes", "Resident set size of the process.",
          static_cast<double>(ResidentBytes()));
  }

  void CollectEngine(std::vector<MetricFamily>* out) const {
    DB* db = context_->keyspace->db();
    // 1 for the state the engine is in, 0 for the others.
    MetricFamily state = Family("lsmkv_engine_error_state",
                                "The engine's error state: none, recoverable (writes refused "
                                "until the error clears, e.g. a full disk) or fatal.",
                                MetricType::Gauge);
    const std::string current = EngineErrorState(db);
    for (const char* name : {"none", "recoverable", "fatal"}) {
      AddSample(&state, current == name ? 1 : 0, {{"state", name}});
    }
    out->push_back(std::move(state));
    const EngineStats stats = ReadEngineStats(db);
    for (const auto& [name, value] : stats.counters) {
      MetricFamily f = Family("lsmkv_engine_" + name, "lsmkv engine statistic '" + name + "'.",
                              MetricType::Gauge);
      AddSample(&f, value);
      out->push_back(std::move(f));
    }
    struct LevelField {
      const char* name;
      const char* help;
      double LevelStats::*field;
    };
    static const LevelField kFields[] = {
        {"lsmkv_engine_level_files", "Table files per level.", &LevelStats::files},
        {"lsmkv_engine_level_bytes", "Table bytes per level.", &LevelStats::bytes},
        {"lsmkv_engine_level_score", "Compaction score per level.", &LevelStats::score},
        {"lsmkv_engine_level_compactions", "Compactions into the level.", &LevelStats::compactions},
        {"lsmkv_engine_level_compaction_bytes_read", "Bytes read by compactions into the level.",
         &LevelStats::compaction_bytes_read},
        {"lsmkv_engine_level_compaction_bytes_written",
         "Bytes written by compactions into the level.", &LevelStats::compaction_bytes_written},
    };
    for (const LevelField& field : kFields) {
      MetricFamily f = Family(field.name, field.help, MetricType::Gauge);
      for (const LevelStats& l : stats.levels) AddSample(&f, l.*field.field, {{"level", l.level}});
      out->push_back(std::move(f));
    }
  }

  ServerContext* context_;
};

MetricsEndpoint::MetricsEndpoint(ServerContext* context) : context_(context) {}

MetricsEndpoint::~MetricsEndpoint() {
  if (exposer_ && collector_) exposer_->RemoveCollectable(collector_);
  exposer_.reset();
}

bool MetricsEndpoint::Start(const std::string& bind_address, int port, std::string* error) {
  collector_ = std::make_shared<MetricsCollector>(context_);
  try {
    // prometheus-cpp reports bind failures by exception; none escapes here.
    exposer_ = std::make_unique<prometheus::Exposer>(bind_address + ":" + std::to_string(port), 2);
  } catch (const std::exception& e) {
    *error = std::string("metrics endpoint on ") + bind_address + ":" + std::to_string(port) +
             ": " + e.what();
    return false;
  }
  exposer_->RegisterCollectable(collector_);
  return true;
}

int MetricsEndpoint::port() const {
  if (!exposer_) return -1;
  std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? -1 : ports[0];
}

}  // namespace lsmkv::server
