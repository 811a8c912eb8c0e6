// Debian's include path for the upstream header at the repository root.
#include "../../concurrentqueue.h"
