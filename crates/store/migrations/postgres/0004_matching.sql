-- Search before create: the blocking step also looks up children by date of birth.
CREATE INDEX people_dob_idx ON people (date_of_birth);
