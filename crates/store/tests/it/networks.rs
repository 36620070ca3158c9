// Tests for networks (store contract tests on both engines).
