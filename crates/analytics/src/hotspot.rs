//! Hotspot statistics on a grid. (Being written.)
