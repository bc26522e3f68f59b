// ConnectionSlots: how many sockets the server holds, in all and per client address, and the
// slot each accepted socket holds until it is closed, whatever it turns out to be (an HTTP
// session, a WebSocket connection, an SSE stream). Thread-safe: slots are taken by the
// acceptor and given back by the threads that close the sockets.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace greendot::transport {

class ConnectionSlots;

// Whether the socket may be served, or is only there to be told why not.
enum class Admission { Admitted, OverTotal, OverPerAddress };

class ConnectionSlot {
 public:
  ConnectionSlot() = default;  // holds nothing (admitted: for sockets made without a limit)
  ConnectionSlot(ConnectionSlot&& other) noexcept;
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ~ConnectionSlot();

  Admission admission() const { return admission_; }
  bool admitted() const { return admission_ == Admission::Admitted; }
  // Gives the slot back now (the socket is closed).
  void release();

 private:
  friend class ConnectionSlots;
  ConnectionSlots* owner_ = nullptr;
  std::uint64_t address_ = 0;  // ConnectionSlots::address_number: a string would cost 32 bytes
  Admission admission_ = Admission::Admitted;
};

class ConnectionSlots {
 public:
  // 0 for either limit means none. A refused socket is answered (a JSON 503 or 429, or a
  // WebSocket close 4100 or 4004) before it is closed; at most `max_refusing` are at once.
  ConnectionSlots(std::size_t max_total, std::size_t max_per_address, std::size_t max_refusing);

  // A slot, admitted or refused; nothing when even the refusals are full (close at once).
  std::optional<ConnectionSlot> take(const boost::asio::ip::address& address);

  std::size_t max_total() const { return max_total_; }
  std::size_t max_per_address() const { return max_per_address_; }
  // The sockets admitted and not yet given back, now.
  std::size_t admitted() const;

  // The key per-address limits count by: the address, or its /64 for IPv6 (one host's share).
  static std::string address_key(const boost::asio::ip::address& address);
  // The same key as a number: an IPv4 address, or an IPv6 /64 prefix. The two cannot meet:
  // an IPv4 address is a number below 2^32, which as a /64 prefix would be in ::/32, where
  // no host is given an address (IPv4-mapped ones are counted as IPv4).
  static std::uint64_t address_number(const boost::asio::ip::address& address);

 private:
  friend class ConnectionSlot;
  void give_back(const ConnectionSlot& slot);

  const std::size_t max_total_;
  const std::size_t max_per_address_;
  const std::size_t max_refusing_;
  mutable std::mutex mutex_;
  std::size_t admitted_ = 0;
  std::size_t refusing_ = 0;
  std::unordered_map<std::uint64_t, std::size_t> per_address_;
};

}  // namespace greendot::transport
