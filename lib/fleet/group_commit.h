// Group commit: concurrent callers hand their item to writer threads, which
// take everything queued so far as one batch and make it durable at once (one
// transaction, one fsync). Each caller returns when its own batch is done, so
// the cost of a commit is shared by everyone who arrived while the previous
// one was in flight.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "vigil/status.h"

namespace vigil::fleet {

template <typename T>
class GroupCommit {
 public:
  // flush(writer index, batch) runs on writer thread `writer`; its Status is
  // every caller's answer. Batches keep submission order.
  using Flush = std::function<Status(int, std::vector<T>&)>;

  GroupCommit(int writers, size_t max_batch, Flush flush) : max_batch_(max_batch), flush_(std::move(flush)) {
    for (int i = 0; i < writers; ++i) threads_.emplace_back([this, i] { Run(i); });
  }
  // Drains what is queued, then stops the writers.
  ~GroupCommit() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  Status Submit(T item) {
    Waiter w(std::move(item));
    std::unique_lock<std::mutex> l(mu_);
    if (stop_) return Status::Internal("group commit is shutting down");
    queue_.push_back(&w);
    work_cv_.notify_one();
    done_cv_.wait(l, [&] { return w.done; });
    return std::move(w.status);
  }

 private:
  struct Waiter {
    explicit Waiter(T i) : item(std::move(i)) {}
    T item;
    Status status;
    bool done = false;
  };

  void Run(int writer) {
    std::vector<Waiter*> taken;
    std::vector<T> batch;
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      work_cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      size_t n = std::min(queue_.size(), max_batch_);
      taken.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      l.unlock();
      batch.clear();
      for (Waiter* w : taken) batch.push_back(std::move(w->item));
      Status st = flush_(writer, batch);
      l.lock();
      for (Waiter* w : taken) {
        w->status = st;
        w->done = true;
      }
      done_cv_.notify_all();
    }
  }

  const size_t max_batch_;
  Flush flush_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Waiter*> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vigil::fleet
