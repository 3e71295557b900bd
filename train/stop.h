// Cooperative stopping: SIGINT/SIGTERM set a flag that the training loop
// reads after each step, so it can save a checkpoint and exit cleanly
// instead of dying mid-write. A second signal stops at once.
#pragma once

namespace posenet::train {

void install_stop_handlers();  // SIGINT and SIGTERM
bool stop_requested();
// The signal that requested the stop (SIGINT, SIGTERM), 0 for none or a
// request_stop(). The command exits with 128 + it, as the shell convention is.
int stop_signal();
void request_stop();
void clear_stop_request();

}  // namespace posenet::train
