#include "core/uncounted_transfers.h"

namespace posenet {

namespace {
thread_local int uncounted_depth = 0;  // per thread: a stand-in's copies run on its caller's thread
}  // namespace

UncountedTransfers::UncountedTransfers() { ++uncounted_depth; }
UncountedTransfers::~UncountedTransfers() { --uncounted_depth; }
bool UncountedTransfers::active() { return uncounted_depth > 0; }

}  // namespace posenet
