#include "txn/history_checker_testutil.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <set>
#include <sstream>
#include <unordered_map>

namespace lsmkv::test {

namespace {

enum EdgeKind : unsigned { kWW = 1, kWR = 2, kRW = 4 };

// Dependency graph over committed transactions; edges carry a kind mask.
struct Graph {
  std::vector<std::map<size_t, unsigned>> out;
  explicit Graph(size_t n) : out(n) {}
  void Add(size_t from, size_t to, unsigned kind) {
    if (from != to) out[from][to] |= kind;
  }
};

// Strongly connected components using only edges whose kind is in mask
// (Tarjan, iterative). Returns the components with more than one member.
std::vector<std::vector<size_t>> Cycles(const Graph& g, unsigned mask) {
  const size_t n = g.out.size();
  std::vector<int> index(n, -1), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<size_t> stack;
  std::vector<std::vector<size_t>> result;
  int next_index = 0;
  for (size_t root = 0; root < n; root++) {
    if (index[root] != -1) continue;
    // Frames: node and the position of the next edge to visit.
    std::vector<std::pair<size_t, std::map<size_t, unsigned>::const_iterator>> frames;
    auto visit = [&](size_t v) {
      index[v] = low[v] = next_index++;
      stack.push_back(v);
      on_stack[v] = true;
      frames.emplace_back(v, g.out[v].begin());
    };
    visit(root);
    while (!frames.empty()) {
      auto& [v, it] = frames.back();
      if (it != g.out[v].end()) {
        const auto [w, kind] = *it;
        ++it;
        if ((kind & mask) == 0) continue;
        if (index[w] == -1) {
          visit(w);
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      const size_t done = v;
      frames.pop_back();
      if (!frames.empty()) low[frames.back().first] = std::min(low[frames.back().first], low[done]);
      if (low[done] == index[done]) {
        std::vector<size_t> component;
        size_t w;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack[w] = false;
          component.push_back(w);
        } while (w != done);
        if (component.size() > 1) result.push_back(std::move(component));
      }
    }
  }
  return result;
}

// A path from `from` to `to` over edges in mask, or empty.
std::vector<size_t> Path(const Graph& g, size_t from, size_t to, unsigned mask) {
  std::unordered_map<size_t, size_t> parent;
  std::deque<size_t> queue{from};
  parent[from] = from;
  while (!queue.empty()) {
    const size_t v = queue.front();
    queue.pop_front();
    if (v == to) {
      std::vector<size_t> path;
      for (size_t x = to; x != from; x = parent[x]) path.push_back(x);
      path.push_back(from);
      std::reverse(path.begin(), path.end());
      return path;
    }
    for (const auto& [w, kind] : g.out[v]) {
      if ((kind & mask) != 0 && parent.emplace(w, v).second) queue.push_back(w);
    }
  }
  return {};
}

std::string Members(const std::vector<size_t>& txns) {
  std::string s;
  for (size_t i = 0; i < txns.size() && i < 12; i++)
    s += (i ? " " : "") + ("T" + std::to_string(txns[i]));
  if (txns.size() > 12) s += " ... (" + std::to_string(txns.size()) + ")";
  return s;
}

}  // namespace

bool HistoryReport::Has(const std::string& kind) const {
  return std::any_of(anomalies.begin(), anomalies.end(),
                     [&](const std::string& a) { return a.rfind(kind + ":", 0) == 0; });
}

std::string HistoryReport::ToString() const {
  std::ostringstream out;
  out << "edges ww=" << edges_ww << " wr=" << edges_wr << " rw=" << edges_rw << "; "
      << anomalies.size() << " anomalies";
  for (const auto& a : anomalies) out << "\n  " << a;
  return out.str();
}

HistoryReport CheckListAppendHistory(
    const std::vector<HistoryTxn>& txns,
    const std::map<std::string, std::vector<uint64_t>>& final_lists, bool allow_g2) {
  HistoryReport report;
  auto anomaly = [&](const std::string& line) {
    if (report.anomalies.size() < 50) report.anomalies.push_back(line);
  };
  // Who appended each value, and whether it committed.
  std::unordered_map<uint64_t, size_t> appender;
  std::set<uint64_t> aborted_values;
  for (size_t t = 0; t < txns.size(); t++) {
    for (const HistoryOp& op : txns[t].ops) {
      if (!op.append) continue;
      appender[op.value] = t;
      if (!txns[t].committed) aborted_values.insert(op.value);
    }
  }
  // Final lists: only committed appends, each once, and every committed
  // append present.
  std::map<std::string, std::unordered_map<uint64_t, size_t>> position;
  for (const auto& [key, list] : final_lists) {
    auto& pos = position[key];
    for (size_t i = 0; i < list.size(); i++) {
      if (aborted_values.count(list[i]) != 0) {
        anomaly("G1a: aborted T" + std::to_string(appender[list[i]]) + "'s append " +
                std::to_string(list[i]) + " is in the final list of " + key);
      }
      if (!pos.emplace(list[i], i).second) {
        anomaly("duplicate: value " + std::to_string(list[i]) + " twice in " + key);
      }
    }
  }
  for (size_t t = 0; t < txns.size(); t++) {
    if (!txns[t].committed) continue;
    for (const HistoryOp& op : txns[t].ops) {
      if (op.append && position[op.key].count(op.value) == 0) {
        anomaly("lost-append: committed T" + std::to_string(t) + "'s append " +
                std::to_string(op.value) + " to " + op.key + " is missing");
      }
    }
  }
  // Reads: each must be a prefix of the final list and see no aborted value.
  Graph g(txns.size());
  auto writer_at = [&](const std::string& key, size_t i) {
    return appender.at(final_lists.at(key)[i]);
  };
  for (size_t t = 0; t < txns.size(); t++) {
    for (const HistoryOp& op : txns[t].ops) {
      if (op.append) continue;
      auto fl = final_lists.find(op.key);
      const std::vector<uint64_t> empty;
      const std::vector<uint64_t>& list = fl == final_lists.end() ? empty : fl->second;
      bool prefix = op.read.size() <= list.size();
      for (size_t i = 0; prefix && i < op.read.size(); i++) prefix = op.read[i] == list[i];
      for (uint64_t v : op.read) {
        if (aborted_values.count(v) != 0) {
          anomaly("G1a: T" + std::to_string(t) + " read aborted T" + std::to_string(appender[v]) +
                  "'s append " + std::to_string(v) + " in " + op.key);
        }
      }
      if (!prefix) {
        anomaly("incompatible-order: T" + std::to_string(t) + "'s read of " + op.key +
                " is not a prefix of its final list");
        continue;
      }
      if (!txns[t].committed) continue;
      const size_t n = op.read.size();
      if (n > 0) g.Add(writer_at(op.key, n - 1), t, kWR);
      if (n < list.size()) g.Add(t, writer_at(op.key, n), kRW);
    }
  }
  for (const auto& [key, list] : final_lists) {
    for (size_t i = 0; i + 1 < list.size(); i++)
      g.Add(writer_at(key, i), writer_at(key, i + 1), kWW);
  }
  for (const auto& edges : g.out) {
    for (const auto& [to, kind] : edges) {
      report.edges_ww += (kind & kWW) != 0;
      report.edges_wr += (kind & kWR) != 0;
      report.edges_rw += (kind & kRW) != 0;
    }
  }

  // Cycles, from the strongest anomaly down.
  for (const auto& c : Cycles(g, kWW)) anomaly("G0: write cycle among " + Members(c));
  const bool g0 = report.Has("G0");
  if (!g0) {
    for (const auto& c : Cycles(g, kWW | kWR)) anomaly("G1c: ww/wr cycle among " + Members(c));
  }
  const bool g1c = g0 || report.Has("G1c");
  if (!g1c) {
    // G-single: one rw edge u -> v closed by a ww/wr path v -> u.
    for (size_t u = 0; u < g.out.size() && !report.Has("G-single"); u++) {
      for (const auto& [v, kind] : g.out[u]) {
        if ((kind & kRW) == 0) continue;
        std::vector<size_t> back = Path(g, v, u, kWW | kWR);
        if (!back.empty()) {
          std::vector<size_t> cycle{u};
          cycle.insert(cycle.end(), back.begin(), back.end() - 1);
          anomaly("G-single: one anti-dependency, cycle " + Members(cycle));
          break;
        }
      }
    }
  }
  if (!allow_g2 && !g1c && !report.Has("G-single")) {
    for (const auto& c : Cycles(g, kWW | kWR | kRW)) {
      anomaly("G2: anti-dependency cycle among " + Members(c));
    }
  }
  return report;
}

std::string AbortReport::ToString() const {
  std::ostringstream out;
  out << classified << " aborts classified: " << necessary << " necessary, " << avoidable
      << " avoidable";
  if (classified > 0) out << " (" << (100.0 * static_cast<double>(avoidable) / classified) << " %)";
  return out.str();
}

AbortReport ClassifyAborts(const std::vector<HistoryTxn>& txns,
                           const std::map<std::string, std::vector<uint64_t>>& final_lists,
                           bool allow_g2) {
  AbortReport report;
  // Committed appends: who made each value.
  std::unordered_map<uint64_t, size_t> appender;
  for (size_t t = 0; t < txns.size(); t++) {
    if (!txns[t].committed) continue;
    for (const HistoryOp& op : txns[t].ops) {
      if (op.append) appender[op.value] = t;
    }
  }
  auto writer_at = [&](const std::string& key, size_t i) -> size_t {
    return appender.at(final_lists.at(key)[i]);
  };
  auto list_of = [&](const std::string& key) -> const std::vector<uint64_t>& {
    static const std::vector<uint64_t> kEmpty;
    auto it = final_lists.find(key);
    return it == final_lists.end() ? kEmpty : it->second;
  };
  // The committed transactions' graph, as CheckListAppendHistory builds it;
  // and who read each key.
  Graph g(txns.size());
  std::map<std::string, std::vector<size_t>> readers;
  for (size_t t = 0; t < txns.size(); t++) {
    if (!txns[t].committed) continue;
    for (const HistoryOp& op : txns[t].ops) {
      if (op.append) continue;
      const auto& list = list_of(op.key);
      const size_t n = op.read.size();
      if (n > list.size()) continue;  // not a prefix: CheckListAppendHistory reports it
      if (n > 0) g.Add(writer_at(op.key, n - 1), t, kWR);
      if (n < list.size()) g.Add(t, writer_at(op.key, n), kRW);
      readers[op.key].push_back(t);
    }
  }
  for (const auto& [key, list] : final_lists) {
    for (size_t i = 0; i + 1 < list.size(); i++)
      g.Add(writer_at(key, i), writer_at(key, i + 1), kWW);
  }
  const unsigned max_rw = allow_g2 ? 1 : ~0u;
  for (size_t a = 0; a < txns.size(); a++) {
    const HistoryTxn& t = txns[a];
    if (t.committed || t.ticket == 0) continue;
    auto before = [&](size_t u) { return txns[u].committed && txns[u].ticket <= t.ticket; };
    // Edges T would have: out (T -> u, always rw: T is last, so its reads
    // are the only way it can precede anyone) and in (u -> T).
    std::map<size_t, unsigned> out, in;
    for (const HistoryOp& op : t.ops) {
      const auto& list = list_of(op.key);
      if (!op.append) {
        const size_t n = op.read.size();
        if (n > list.size()) continue;
        if (n > 0) in[writer_at(op.key, n - 1)] |= kWR;
        // The first later version that committed before T: T read past it.
        for (size_t i = n; i < list.size(); i++) {
          if (before(writer_at(op.key, i))) {
            out[writer_at(op.key, i)] |= kRW;
            break;
          }
        }
        continue;
      }
      // T's append goes after the last element appended before it.
      for (size_t i = list.size(); i-- > 0;) {
        if (before(writer_at(op.key, i))) {
          in[writer_at(op.key, i)] |= kWW;
          break;
        }
      }
      // Everyone before T who read the key missed T's append.
      auto r = readers.find(op.key);
      if (r != readers.end()) {
        for (size_t u : r->second) {
          if (before(u)) in[u] |= kRW;
        }
      }
    }
    // A cycle through T: T -> u (rw) ... -> x -> T, counting rw edges when
    // snapshot isolation allows cycles with two or more of them. States:
    // (transaction, rw edges used so far), breadth first.
    bool cycle = false;
    std::set<std::pair<size_t, unsigned>> seen;
    std::deque<std::pair<size_t, unsigned>> queue;
    auto push = [&](size_t u, unsigned rw) {
      if (rw <= max_rw && before(u) && seen.emplace(u, std::min(rw, 2u)).second) {
        queue.emplace_back(u, std::min(rw, 2u));
      }
    };
    for (const auto& [u, kind] : out) push(u, (kind & kRW) != 0 ? 1 : 0);
    while (!queue.empty() && !cycle) {
      const auto [u, rw] = queue.front();
      queue.pop_front();
      if (auto e = in.find(u); e != in.end()) {
        // Closing through a non-rw edge costs nothing more; a rw one, one.
        const unsigned cost = (e->second & (kWW | kWR)) != 0 ? 0 : 1;
        if (rw + cost <= max_rw) cycle = true;
      }
      for (const auto& [w, kind] : g.out[u]) {
        push(w, rw + ((kind & (kWW | kWR)) != 0 ? 0 : 1));
      }
    }
    report.classified++;
    (cycle ? report.necessary : report.avoidable)++;
  }
  return report;
}

}  // namespace lsmkv::test
