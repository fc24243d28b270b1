package pgstore

// SweepLock is the advisory lock key Sweep takes, for tests that hold it.
const SweepLock = sweepLock

// LeaseSQL is the statement Lease runs, for plan tests.
const LeaseSQL = leaseSQL
