#include "transport/connection_slots.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace greendot::transport {
namespace {

namespace ip = boost::asio::ip;

std::vector<ConnectionSlot> take_admitted(ConnectionSlots& slots, const char* address, int n) {
  std::vector<ConnectionSlot> held;
  for (int i = 0; i < n; ++i) {
    auto slot = slots.take(ip::make_address(address));
    EXPECT_TRUE(slot && slot->admitted()) << address << " #" << i;
    if (slot) held.push_back(std::move(*slot));
  }
  return held;
}

TEST(ConnectionSlots, CountsPerAddressAndGivesSlotsBack) {
  ConnectionSlots slots(0, 2, 4);
  auto held = take_admitted(slots, "10.0.0.1", 2);
  auto refused = slots.take(ip::make_address("10.0.0.1"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->admission(), Admission::OverPerAddress);
  EXPECT_TRUE(slots.take(ip::make_address("10.0.0.2"))->admitted()) << "another address";
  held.pop_back();  // one socket closed
  EXPECT_TRUE(slots.take(ip::make_address("10.0.0.1"))->admitted());
}

TEST(ConnectionSlots, AnIpv6HostIsItsSlash64) {
  ConnectionSlots slots(0, 2, 4);
  auto held = take_admitted(slots, "2001:db8:1:2::1", 1);
  auto second = take_admitted(slots, "2001:db8:1:2:ffff::9", 1);
  EXPECT_EQ(slots.take(ip::make_address("2001:db8:1:2:abcd::1"))->admission(),
            Admission::OverPerAddress)
      << "the same /64";
  EXPECT_TRUE(slots.take(ip::make_address("2001:db8:1:3::1"))->admitted()) << "the next /64";
}

TEST(ConnectionSlots, AnIpv4MappedAddressIsTheIpv4One) {
  ConnectionSlots slots(0, 1, 4);
  auto held = take_admitted(slots, "192.0.2.7", 1);
  EXPECT_EQ(slots.take(ip::make_address("::ffff:192.0.2.7"))->admission(),
            Admission::OverPerAddress);
  EXPECT_EQ(ConnectionSlots::address_key(ip::make_address("::ffff:192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(ConnectionSlots::address_key(ip::make_address("2001:db8:1:2:3:4:5:6")),
            "2001:db8:1:2::/64");
}

TEST(ConnectionSlots, AnIpv4AddressAndAnIpv6PrefixDoNotShareACount) {
  // An IPv4 address counts below 2^32; the /64 of any address a host can be given is above.
  EXPECT_NE(ConnectionSlots::address_number(ip::make_address("192.0.2.7")),
            ConnectionSlots::address_number(ip::make_address("2001:db8::1")));
  EXPECT_GE(ConnectionSlots::address_number(ip::make_address("2001:db8::1")), 1ull << 32);
  EXPECT_NE(ConnectionSlots::address_number(ip::make_address("192.0.2.7")),
            ConnectionSlots::address_number(ip::make_address("192.0.2.8")));
}

TEST(ConnectionSlots, TheTotalLimitAndTheRefusalsAreBounded) {
  ConnectionSlots slots(2, 0, 1);
  auto held = take_admitted(slots, "10.0.0.1", 1);
  auto more = take_admitted(slots, "10.0.0.2", 1);
  auto refused = slots.take(ip::make_address("10.0.0.3"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->admission(), Admission::OverTotal);
  EXPECT_FALSE(slots.take(ip::make_address("10.0.0.4"))) << "one refusal at a time";
  refused->release();
  EXPECT_TRUE(slots.take(ip::make_address("10.0.0.4"))) << "the refusal was given back";
}

TEST(ConnectionSlots, AMovedSlotIsGivenBackOnce) {
  ConnectionSlots slots(1, 0, 1);
  {
    auto slot = slots.take(ip::make_address("10.0.0.1"));
    ConnectionSlot moved = std::move(*slot);
    ConnectionSlot assigned;
    assigned = std::move(moved);
    EXPECT_EQ(slots.take(ip::make_address("10.0.0.2"))->admission(), Admission::OverTotal);
  }
  EXPECT_TRUE(slots.take(ip::make_address("10.0.0.2"))->admitted());
}

}  // namespace
}  // namespace greendot::transport
