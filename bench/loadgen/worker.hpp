// The inside of one load generator process: a single-threaded event loop that drives its share
// of the clients and obeys one-line commands from the coordinator on stdin, answering each
// with one JSON line on stdout when the step is complete (or stuck past the step timeout).
//
//   connect [sub]          open every client (and subscribe each as soon as it is open)
//   subscribe [wait N]     subscribe every open client (and wait until each knows N members)
//   stats [reset]          counters and latency histograms
//   close | abort          close handshake for every client | drop every TCP connection
//   churn SECONDS SLOTS    connect, subscribe, close in SLOTS parallel loops for SECONDS
//   quit
#pragma once

#include <string>

#include "options.hpp"

namespace bench {

// Which clients a process drives and where they go.
struct WorkerPlan {
  int index = 0;        // process number: source addresses 127.0.0.(2 + 32 * index + k)
  int first = 0;        // global number of its first client (user ids are u<number>)
  int count = 0;        // clients
  std::string channel;  // channel name prefix; the room number (client / room_size) follows
  int room_size = 1;
};

// Runs until `quit` or end of input; returns the exit status.
int run_worker(const Options& options, const WorkerPlan& plan);

}  // namespace bench
