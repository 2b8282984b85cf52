#include "vault/lease.h"

#include <gtest/gtest.h>

#include <string>

#include "store/memory/memory_store.h"
#include "test_support.h"
#include "vault/random_id.h"

namespace cairn::vault {
namespace {

using base::Code;
using std::chrono::seconds;
using vaulttest::At;
using vaulttest::HookStore;
using vaulttest::ReadFixture;

bool Contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

LeaseHolder Holder(std::string id, std::string pod) {
  return LeaseHolder{std::move(id), "node-1", std::move(pod), "gc-job"};
}

class LeaseTest : public ::testing::Test {
 protected:
  base::FakeClock clock_{At("2026-11-21T06:00:00Z")};
  HookStore store_{clock_};
  Layout layout_{"p"};
  const seconds ttl_{600};

  base::Result<Lease> Acquire(const LeaseHolder& h) {
    return AcquireLease(store_, layout_, "gc", h, ttl_, clock_);
  }
};

TEST(LeaseDocumentTest, GoldenRoundTrips) {
  const std::string golden = ReadFixture("lease-v1.json");
  auto l = ParseLease(golden, "p/locks/gc.json");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->key, "p/locks/gc.json");
  EXPECT_EQ(l->operation, "gc");
  EXPECT_EQ(l->holder.id, "9b1d5c3e-2f4a-4e6b-8c7d-0a1b2c3d4e5f");
  EXPECT_EQ(l->holder.pod, "gc-29876500-abcde");
  EXPECT_EQ(l->acquired, At("2026-11-21T06:00:00Z"));
  EXPECT_EQ(l->renewed, At("2026-11-21T06:05:00Z"));
  EXPECT_EQ(l->expires, At("2026-11-21T06:15:00Z"));
  EXPECT_EQ(l->lease_seconds, 600);
  EXPECT_EQ(ToJson(*l), golden);
  EXPECT_FALSE(IsExpired(*l, At("2026-11-21T06:14:59Z")));
  EXPECT_TRUE(IsExpired(*l, At("2026-11-21T06:15:00Z")));
}

TEST(LeaseDocumentTest, MalformedIsDataLoss) {
  EXPECT_EQ(ParseLease("{}", "k").status().code(), Code::kDataLoss);
  std::string golden = ReadFixture("lease-v1.json");
  std::string zero = golden;
  zero.replace(zero.find("600"), 3, "0");
  EXPECT_EQ(ParseLease(zero, "k").status().code(), Code::kDataLoss);
}

TEST_F(LeaseTest, AcquireWritesTheLease) {
  auto l = Acquire(Holder("", "gc-1"));
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_TRUE(IsUuidV4(l->holder.id));  // filled in when empty
  EXPECT_EQ(l->key, "p/locks/gc.json");
  EXPECT_EQ(l->acquired, At("2026-11-21T06:00:00Z"));
  EXPECT_EQ(l->renewed, l->acquired);
  EXPECT_EQ(l->expires, At("2026-11-21T06:10:00Z"));
  EXPECT_EQ(l->lease_seconds, 600);
  auto stored = ParseLease(store_.inner().GetAll("p/locks/gc.json").value(), "p/locks/gc.json");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(ToJson(*stored), ToJson(*l));
}

TEST_F(LeaseTest, SecondAcquireConflictsNamingHolderAndExpiry) {
  ASSERT_TRUE(Acquire(Holder("a", "gc-a")).ok());
  clock_.Advance(seconds(599));
  auto second = Acquire(Holder("b", "gc-b"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kConflict);
  const std::string& m = second.status().message();
  EXPECT_TRUE(Contains(m, "holder 'a'")) << m;
  EXPECT_TRUE(Contains(m, "pod 'gc-a'")) << m;
  EXPECT_TRUE(Contains(m, "host 'node-1'")) << m;
  EXPECT_TRUE(Contains(m, "until 2026-11-21T06:10:00Z")) << m;
  EXPECT_FALSE(second.status().hint().empty());
}

TEST_F(LeaseTest, ExpiredLeaseIsTakenOver) {
  auto a = Acquire(Holder("a", "gc-a"));
  ASSERT_TRUE(a.ok());
  clock_.Advance(seconds(600));
  auto b = Acquire(Holder("b", "gc-b"));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->holder.id, "b");
  EXPECT_EQ(b->expires, At("2026-11-21T06:20:00Z"));

  // The old holder finds out at its next renewal, and cannot release the new lease.
  base::Status renew = RenewLease(store_, *a, clock_);
  EXPECT_EQ(renew.code(), Code::kConflict);
  EXPECT_TRUE(Contains(renew.message(), "now held by holder 'b'")) << renew.message();
  EXPECT_EQ(ReleaseLease(store_, *a, clock_).code(), Code::kConflict);
  EXPECT_TRUE(store_.inner().Head("p/locks/gc.json").ok());
  EXPECT_TRUE(RenewLease(store_, *b, clock_).ok());
}

TEST_F(LeaseTest, RenewExtendsOurLease) {
  auto a = Acquire(Holder("a", "gc-a"));
  ASSERT_TRUE(a.ok());
  clock_.Advance(seconds(200));
  ASSERT_TRUE(RenewLease(store_, *a, clock_).ok());
  EXPECT_EQ(a->acquired, At("2026-11-21T06:00:00Z"));
  EXPECT_EQ(a->renewed, At("2026-11-21T06:03:20Z"));
  EXPECT_EQ(a->expires, At("2026-11-21T06:13:20Z"));
  clock_.Advance(seconds(500));  // past the first expiry, within the renewed one
  EXPECT_EQ(Acquire(Holder("b", "gc-b")).status().code(), Code::kConflict);
  ASSERT_TRUE(RenewLease(store_, *a, clock_).ok());
  auto stored = ParseLease(store_.inner().GetAll("p/locks/gc.json").value(), "k");
  EXPECT_EQ(stored->expires, a->expires);
}

TEST_F(LeaseTest, RenewByTheWrongHolderFails) {
  auto a = Acquire(Holder("a", "gc-a"));
  ASSERT_TRUE(a.ok());
  Lease impostor = *a;
  impostor.holder.id = "z";
  EXPECT_EQ(RenewLease(store_, impostor, clock_).code(), Code::kConflict);
  Lease earlier = *a;  // same holder, an earlier acquisition
  earlier.acquired -= seconds(3600);
  EXPECT_EQ(RenewLease(store_, earlier, clock_).code(), Code::kConflict);
  auto stored = ParseLease(store_.inner().GetAll("p/locks/gc.json").value(), "k");
  EXPECT_EQ(stored->holder.id, "a");
  EXPECT_EQ(stored->renewed, a->renewed);
}

TEST_F(LeaseTest, RenewAfterExpiryFailsEvenIfNobodyTookOver) {
  auto a = Acquire(Holder("a", "gc-a"));
  ASSERT_TRUE(a.ok());
  clock_.Advance(seconds(601));
  base::Status s = RenewLease(store_, *a, clock_);
  EXPECT_EQ(s.code(), Code::kConflict);
  EXPECT_TRUE(Contains(s.message(), "expired at 2026-11-21T06:10:00Z")) << s.message();
}

TEST_F(LeaseTest, RenewOfADeletedLeaseFails) {
  auto a = Acquire(Holder("a", "gc-a"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(store_.inner().Delete({"p/locks/gc.json"}).ok());
  EXPECT_EQ(RenewLease(store_, *a, clock_).code(), Code::kConflict);
}

TEST_F(LeaseTest, ReleaseFreesTheLease) {
  auto a = Acquire(Holder("a", "gc-a"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(ReleaseLease(store_, *a, clock_).ok());
  EXPECT_EQ(store_.inner().Head("p/locks/gc.json").status().code(), Code::kNotFound);
  EXPECT_TRUE(ReleaseLease(store_, *a, clock_).ok());  // already gone
  EXPECT_TRUE(Acquire(Holder("b", "gc-b")).ok());
}

TEST_F(LeaseTest, ReleaseOfAnExpiredLeaseLeavesItForTheNextTaker) {
  auto a = Acquire(Holder("a", "gc-a"));
  ASSERT_TRUE(a.ok());
  clock_.Advance(seconds(700));
  EXPECT_TRUE(ReleaseLease(store_, *a, clock_).ok());
  EXPECT_TRUE(store_.inner().Head("p/locks/gc.json").ok());
  EXPECT_TRUE(Acquire(Holder("b", "gc-b")).ok());
}

TEST_F(LeaseTest, UnreadableLeaseCountsAsHeldUntilOldEnough) {
  ASSERT_TRUE(store_.inner().Put("p/locks/gc.json", "garbage", {}).ok());
  auto early = Acquire(Holder("b", "gc-b"));
  EXPECT_EQ(early.status().code(), Code::kConflict);
  EXPECT_TRUE(Contains(early.status().message(), "unreadable")) << early.status().message();
  clock_.Advance(ttl_);
  auto later = Acquire(Holder("b", "gc-b"));
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(later->holder.id, "b");
}

TEST_F(LeaseTest, LeaseRenewedDuringTakeoverIsNotDeleted) {
  auto a = Acquire(Holder("a", "gc-a"));
  ASSERT_TRUE(a.ok());
  clock_.Advance(seconds(600));
  // Between the taker's first read and its confirming read, the holder's renewal lands
  // (clocks disagree a little): the taker must see the change and back off.
  int gets = 0;
  Lease renewed = *a;
  renewed.renewed = clock_.Now();
  renewed.expires = renewed.renewed + ttl_;
  store_.hook = [&](std::string_view op, std::string_view key) {
    if (op == "get" && key == "p/locks/gc.json" && ++gets == 2) {
      store_.inner().Put(key, ToJson(renewed), {}).IgnoreError();
    }
  };
  auto b = Acquire(Holder("b", "gc-b"));
  EXPECT_EQ(b.status().code(), Code::kConflict);
  auto stored = ParseLease(store_.inner().GetAll("p/locks/gc.json").value(), "k");
  EXPECT_EQ(stored->holder.id, "a");
}

TEST_F(LeaseTest, ConcurrentTakerThatWinsTheCreate) {
  ASSERT_TRUE(Acquire(Holder("a", "gc-a")).ok());
  clock_.Advance(seconds(600));
  // Right after the taker deletes the expired lease, a third runner creates its own.
  Lease c;
  c.key = "p/locks/gc.json";
  c.operation = "gc";
  c.holder = Holder("c", "gc-c");
  c.acquired = c.renewed = clock_.Now();
  c.expires = c.renewed + ttl_;
  c.lease_seconds = 600;
  store_.hook = [&](std::string_view op, std::string_view key) {
    if (op == "put" && key == "p/locks/gc.json" && !store_.inner().Head(key).ok()) {
      store_.inner().Put(key, ToJson(c), {}).IgnoreError();
    }
  };
  auto b = Acquire(Holder("b", "gc-b"));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kConflict);
  EXPECT_TRUE(Contains(b.status().message(), "holder 'c'")) << b.status().message();
}

TEST_F(LeaseTest, WorksWithoutConditionalCreate) {
  store_.conditional = false;
  auto a = Acquire(Holder("a", "gc-a"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(Acquire(Holder("b", "gc-b")).status().code(), Code::kConflict);
  clock_.Advance(seconds(600));
  auto b = Acquire(Holder("b", "gc-b"));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(RenewLease(store_, *a, clock_).code(), Code::kConflict);
}

TEST_F(LeaseTest, InvalidArguments) {
  EXPECT_EQ(AcquireLease(store_, layout_, "GC!", Holder("a", "p"), ttl_, clock_).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(
      AcquireLease(store_, layout_, "gc", Holder("a", "p"), seconds(0), clock_).status().code(),
      Code::kInvalidArgument);
}

TEST_F(LeaseTest, StoreErrorsPassThrough) {
  store_.fault = [](std::string_view op, std::string_view) {
    return op == "put" ? base::Error(Code::kPermissionDenied, "access denied") : base::Status::Ok();
  };
  auto a = Acquire(Holder("a", "gc-a"));
  EXPECT_EQ(a.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(Contains(a.status().message(), "unable to acquire lease 'p/locks/gc.json'"));
}

}  // namespace
}  // namespace cairn::vault
