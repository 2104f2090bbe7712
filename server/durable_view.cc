#include "server/durable_view.h"

#include <utility>

#include "util/check.h"

namespace lsmkv::server {

void DurableView::Publish(std::unique_ptr<Iterator> view) {
  {
    MutexLock lock(&mu_);
    view_.swap(view);
  }
  // view now holds the previous iterator: destroyed here, without mu_ (it
  // may release table files), while readers go on with the new one.
}

void DurableView::Clear() { Publish(nullptr); }

bool DurableView::published() const {
  MutexLock lock(&mu_);
  return view_ != nullptr;
}

Status DurableView::Read(std::span<const std::string_view> keys, std::span<std::string> values,
                         std::span<bool> found) {
  DCHECK(values.size() == keys.size() && found.size() == keys.size());
  MutexLock lock(&mu_);
  if (view_ == nullptr) return Status::NotFound("lsmkv-server: no durable state published yet");
  for (size_t i = 0; i < keys.size(); i++) {
    view_->Seek(keys[i]);
    Status s = view_->status();
    if (!s.ok()) return s;
    found[i] = view_->Valid() && view_->key() == keys[i];
    if (found[i]) values[i].assign(view_->value());
  }
  return Status::OK();
}

}  // namespace lsmkv::server
