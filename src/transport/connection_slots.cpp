#include "transport/connection_slots.hpp"

#include <utility>

namespace greendot::transport {

ConnectionSlot::ConnectionSlot(ConnectionSlot&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      address_(other.address_),
      admission_(other.admission_) {}

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    address_ = other.address_;
    admission_ = other.admission_;
  }
  return *this;
}

ConnectionSlot::~ConnectionSlot() {
  release();
}

void ConnectionSlot::release() {
  if (owner_ == nullptr) return;
  owner_->give_back(*this);
  owner_ = nullptr;
}

ConnectionSlots::ConnectionSlots(std::size_t max_total, std::size_t max_per_address,
                                 std::size_t max_refusing)
    : max_total_(max_total), max_per_address_(max_per_address), max_refusing_(max_refusing) {}

std::string ConnectionSlots::address_key(const boost::asio::ip::address& address) {
  if (address.is_v4()) return address.to_string();
  auto v6 = address.to_v6();
  if (v6.is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  for (std::size_t i = 8; i < bytes.size(); ++i) bytes[i] = 0;  // one host usually has a /64
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

std::uint64_t ConnectionSlots::address_number(const boost::asio::ip::address& address) {
  if (address.is_v4()) return address.to_v4().to_uint();
  auto v6 = address.to_v6();
  if (v6.is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_uint();
  const auto bytes = v6.to_bytes();
  std::uint64_t prefix = 0;
  for (std::size_t i = 0; i < 8; ++i) prefix = (prefix << 8) | bytes[i];
  return prefix;
}

std::optional<ConnectionSlot> ConnectionSlots::take(const boost::asio::ip::address& address) {
  ConnectionSlot slot;
  slot.address_ = address_number(address);
  std::lock_guard lock(mutex_);
  std::size_t& from_address = per_address_[slot.address_];
  if (max_total_ != 0 && admitted_ >= max_total_) {
    slot.admission_ = Admission::OverTotal;
  } else if (max_per_address_ != 0 && from_address >= max_per_address_) {
    slot.admission_ = Admission::OverPerAddress;
  }
  if (slot.admitted()) {
    ++admitted_;
    ++from_address;
  } else {
    if (from_address == 0) per_address_.erase(slot.address_);
    if (refusing_ >= max_refusing_) return std::nullopt;
    ++refusing_;
  }
  slot.owner_ = this;
  return slot;
}

std::size_t ConnectionSlots::admitted() const {
  std::lock_guard lock(mutex_);
  return admitted_;
}

void ConnectionSlots::give_back(const ConnectionSlot& slot) {
  std::lock_guard lock(mutex_);
  if (!slot.admitted()) {
    --refusing_;
    return;
  }
  --admitted_;
  auto it = per_address_.find(slot.address_);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

}  // namespace greendot::transport
