#include "histogram.hpp"

#include <algorithm>
#include <bit>

namespace bench {

std::size_t Histogram::bucket_of(std::uint64_t value) {
  constexpr std::uint64_t kSub = 1u << kSubBits;
  if (value < kSub) return value;
  const int width = std::bit_width(value);  // > kSubBits
  const int shift = width - kSubBits - 1;
  const std::uint64_t sub = (value >> shift) - kSub;  // 0 .. kSub-1
  return static_cast<std::size_t>((shift + 1) * kSub + sub);
}

std::uint64_t Histogram::low_of(std::size_t bucket) {
  constexpr std::uint64_t kSub = 1u << kSubBits;
  if (bucket < kSub) return bucket;
  const std::uint64_t shift = bucket / kSub - 1;
  return (kSub + bucket % kSub) << shift;
}

void Histogram::record(std::int64_t value_ns) {
  const auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(value_ns, 0));
  const std::size_t b = bucket_of(v);
  if (b >= buckets_.size()) buckets_.resize(b + 1);
  ++buckets_[b];
  ++count_;
  max_ = std::max<std::int64_t>(max_, static_cast<std::int64_t>(v));
}

void Histogram::merge(const Histogram& other) {
  if (other.buckets_.size() > buckets_.size()) buckets_.resize(other.buckets_.size());
  for (std::size_t i = 0; i < other.buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::int64_t Histogram::percentile(double fraction) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(fraction * static_cast<double>(count_ - 1)) + 1;
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b];
    if (seen >= rank) {
      const std::uint64_t mid = (low_of(b) + low_of(b + 1)) / 2;
      return std::min<std::int64_t>(static_cast<std::int64_t>(mid), max_);
    }
  }
  return max_;
}

boost::json::array Histogram::to_json() const {
  boost::json::array out;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    if (buckets_[b] != 0) out.push_back(boost::json::array{b, buckets_[b]});
  }
  out.push_back(max_);
  return out;
}

Histogram Histogram::from_json(const boost::json::array& sparse) {
  Histogram h;
  for (const auto& item : sparse) {
    if (!item.is_array()) {
      h.max_ = std::max<std::int64_t>(h.max_, item.to_number<std::int64_t>());
      continue;
    }
    const auto b = item.as_array()[0].to_number<std::size_t>();
    const auto n = item.as_array()[1].to_number<std::uint64_t>();
    if (b >= h.buckets_.size()) h.buckets_.resize(b + 1);
    h.buckets_[b] += n;
    h.count_ += n;
  }
  return h;
}

boost::json::object Histogram::summary_ms() const {
  auto ms = [](std::int64_t ns) { return static_cast<double>(ns) / 1e6; };
  return {{"n", count_},
          {"p50_ms", ms(percentile(0.50))},
          {"p99_ms", ms(percentile(0.99))},
          {"max_ms", ms(max_)}};
}

}  // namespace bench
