//! The report graph. (Being written.)
