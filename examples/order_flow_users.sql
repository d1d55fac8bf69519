-- The order flow's failures joined with the company's other data: the `users` table, a
-- replica of the production database's (signup date, acquisition channel, first-order
-- date), loaded beside the event tables. The same text runs on PostgreSQL and SQLite.
-- $1 is an order-id prefix: '' for every order, or one run's prefix.
-- Each query is introduced by a `-- name:` line; order_flow --warehouse runs them all.

-- name: by_channel
-- Per acquisition channel: users, users hit by a failed payment, and their failures.
SELECT u.channel, count(DISTINCT u.user_id), count(DISTINCT f.user_id), count(f.user_id)
FROM users u
LEFT JOIN payment_failed f
    ON f.user_id = u.user_id AND f.order_id LIKE CAST($1 AS TEXT) || '%'
GROUP BY u.channel;

-- name: by_signup_month
-- The same per signup cohort (the month a user signed up).
SELECT substr(u.signup_date, 1, 7), count(DISTINCT u.user_id), count(DISTINCT f.user_id), count(f.user_id)
FROM users u
LEFT JOIN payment_failed f
    ON f.user_id = u.user_id AND f.order_id LIKE CAST($1 AS TEXT) || '%'
GROUP BY substr(u.signup_date, 1, 7);
