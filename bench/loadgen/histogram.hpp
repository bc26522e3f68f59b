// A log-linear latency histogram (64 sub-buckets per power of two, under 1.6 % error) that
// worker processes send to the coordinator as sparse JSON and the coordinator merges.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <vector>

namespace bench {

class Histogram {
 public:
  void record(std::int64_t value_ns);
  void merge(const Histogram& other);
  std::uint64_t count() const { return count_; }
  std::int64_t max() const { return max_; }
  // The value below which `fraction` of the samples lie (bucket midpoint), in ns.
  std::int64_t percentile(double fraction) const;

  boost::json::array to_json() const;  // [[bucket, count], ...], then max
  static Histogram from_json(const boost::json::array& sparse);
  // {"n":..,"p50_ms":..,"p99_ms":..,"max_ms":..}
  boost::json::object summary_ms() const;

 private:
  static constexpr int kSubBits = 6;
  static std::size_t bucket_of(std::uint64_t value);
  static std::uint64_t low_of(std::size_t bucket);

  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  std::int64_t max_ = 0;
};

}  // namespace bench
