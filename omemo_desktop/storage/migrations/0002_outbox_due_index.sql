-- Schema version 2: the send loop picks due outbox entries by state and time.
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
