package pgstore

// SweepLock is the advisory lock key Sweep takes, for tests that hold it.
const SweepLock = sweepLock
