-- The order flow's questions about time, in SQL over the tables the loader writes and the
-- `users` replica beside them. The same text runs on PostgreSQL and SQLite: a timestamp
-- read as text starts `YYYY-MM-DD?HH:MM` on both (the PostgreSQL backend's session is in
-- UTC), so minutes and days are compared as those labels.
-- Each query is introduced by a `-- name:` line; order_flow --warehouse runs them all,
-- every one with the same parameters, declared in its `bounds`:
--   $1 an order-id prefix: '' for every order, or one run's prefix;
--   $2, $3 the evening's first minute and the minute after its last ('2026-03-06 18:00');
--   $4, $5 the incident's first minute and the minute the fix shipped;
--   $6 the last day a reorder counts ('2026-04-03').

-- name: payments_per_minute
-- Payment attempts and how they ended, per minute of the evening, market and platform.
-- A payment counts in the minute its order was placed (what the counters say per minute).
WITH bounds AS (
    SELECT CAST($1 AS TEXT) AS prefix, CAST($2 AS TEXT) AS evening_starts,
           CAST($3 AS TEXT) AS evening_ends, CAST($4 AS TEXT) AS incident_starts,
           CAST($5 AS TEXT) AS incident_ends, CAST($6 AS TEXT) AS reorder_cutoff
), order_minute AS (
    SELECT o.order_id,
           substr(CAST(o.placed_at AS TEXT), 1, 10) || ' ' || substr(CAST(o.placed_at AS TEXT), 12, 5) AS minute
    FROM order_placed o
    JOIN bounds ON o.order_id LIKE bounds.prefix || '%'
), evening AS (
    SELECT m.order_id, m.minute
    FROM order_minute m
    JOIN bounds ON m.minute >= bounds.evening_starts AND m.minute < bounds.evening_ends
)
SELECT e.minute, a.market, a.platform,
       count(*),
       CAST(sum(CASE WHEN s.order_id IS NULL THEN 0 ELSE 1 END) AS BIGINT),
       CAST(sum(CASE WHEN f.order_id IS NULL THEN 0 ELSE 1 END) AS BIGINT)
FROM evening e
JOIN payment_attempted a ON a.order_id = e.order_id
LEFT JOIN payment_succeeded s ON s.order_id = a.order_id AND s.attempt = a.attempt
LEFT JOIN payment_failed f ON f.order_id = a.order_id AND f.attempt = a.attempt
GROUP BY e.minute, a.market, a.platform;

-- name: at_risk_per_minute
-- The revenue at risk of the orders placed in each minute of the evening: orders with a
-- failed payment, never paid (blocked) or paid on a retry. (No counter can say.)
WITH bounds AS (
    SELECT CAST($1 AS TEXT) AS prefix, CAST($2 AS TEXT) AS evening_starts,
           CAST($3 AS TEXT) AS evening_ends, CAST($4 AS TEXT) AS incident_starts,
           CAST($5 AS TEXT) AS incident_ends, CAST($6 AS TEXT) AS reorder_cutoff
), order_minute AS (
    SELECT o.order_id,
           substr(CAST(o.placed_at AS TEXT), 1, 10) || ' ' || substr(CAST(o.placed_at AS TEXT), 12, 5) AS minute
    FROM order_placed o
    JOIN bounds ON o.order_id LIKE bounds.prefix || '%'
), evening AS (
    SELECT m.order_id, m.minute
    FROM order_minute m
    JOIN bounds ON m.minute >= bounds.evening_starts AND m.minute < bounds.evening_ends
), basket AS (
    SELECT order_id, max(amount_pence) AS pence FROM payment_attempted GROUP BY order_id
), failed AS (
    SELECT DISTINCT order_id FROM payment_failed
), paid AS (
    SELECT DISTINCT order_id FROM payment_succeeded
)
SELECT e.minute,
       CAST(sum(CASE WHEN paid.order_id IS NULL THEN 1 ELSE 0 END) AS BIGINT),
       CAST(sum(CASE WHEN paid.order_id IS NULL THEN b.pence ELSE 0 END) AS BIGINT),
       CAST(sum(CASE WHEN paid.order_id IS NULL THEN 0 ELSE 1 END) AS BIGINT),
       CAST(sum(CASE WHEN paid.order_id IS NULL THEN 0 ELSE b.pence END) AS BIGINT)
FROM evening e
JOIN failed ON failed.order_id = e.order_id
JOIN basket b ON b.order_id = e.order_id
LEFT JOIN paid ON paid.order_id = e.order_id
GROUP BY e.minute;

-- name: users_hit_per_minute
-- Distinct users with a failed payment among the orders placed in each minute of the
-- evening. (No counter can say.)
WITH bounds AS (
    SELECT CAST($1 AS TEXT) AS prefix, CAST($2 AS TEXT) AS evening_starts,
           CAST($3 AS TEXT) AS evening_ends, CAST($4 AS TEXT) AS incident_starts,
           CAST($5 AS TEXT) AS incident_ends, CAST($6 AS TEXT) AS reorder_cutoff
), order_minute AS (
    SELECT o.order_id,
           substr(CAST(o.placed_at AS TEXT), 1, 10) || ' ' || substr(CAST(o.placed_at AS TEXT), 12, 5) AS minute
    FROM order_placed o
    JOIN bounds ON o.order_id LIKE bounds.prefix || '%'
), evening AS (
    SELECT m.order_id, m.minute
    FROM order_minute m
    JOIN bounds ON m.minute >= bounds.evening_starts AND m.minute < bounds.evening_ends
)
SELECT e.minute, count(DISTINCT f.user_id)
FROM evening e
JOIN payment_failed f ON f.order_id = e.order_id
GROUP BY e.minute;

-- name: alert_thresholds
-- Where should the alert sit? For a monitor paging on a minute whose payment success rate
-- is below each threshold: the minutes it pages for, the incident minutes among them, the
-- incident minutes with payments, and the revenue at risk (blocked orders and value, then
-- retried orders and value) of the incident minutes it misses.
WITH bounds AS (
    SELECT CAST($1 AS TEXT) AS prefix, CAST($2 AS TEXT) AS evening_starts,
           CAST($3 AS TEXT) AS evening_ends, CAST($4 AS TEXT) AS incident_starts,
           CAST($5 AS TEXT) AS incident_ends, CAST($6 AS TEXT) AS reorder_cutoff
), order_minute AS (
    SELECT o.order_id,
           substr(CAST(o.placed_at AS TEXT), 1, 10) || ' ' || substr(CAST(o.placed_at AS TEXT), 12, 5) AS minute
    FROM order_placed o
    JOIN bounds ON o.order_id LIKE bounds.prefix || '%'
), evening AS (
    SELECT m.order_id, m.minute,
           CASE WHEN m.minute >= bounds.incident_starts AND m.minute < bounds.incident_ends
                THEN 1 ELSE 0 END AS incident
    FROM order_minute m
    JOIN bounds ON m.minute >= bounds.evening_starts AND m.minute < bounds.evening_ends
), per_minute AS (
    SELECT e.minute, e.incident, count(*) AS attempts,
           sum(CASE WHEN s.order_id IS NULL THEN 0 ELSE 1 END) AS succeeded
    FROM evening e
    JOIN payment_attempted a ON a.order_id = e.order_id
    LEFT JOIN payment_succeeded s ON s.order_id = a.order_id AND s.attempt = a.attempt
    GROUP BY e.minute, e.incident
), basket AS (
    SELECT order_id, max(amount_pence) AS pence FROM payment_attempted GROUP BY order_id
), at_risk AS (
    SELECT e.minute,
           sum(CASE WHEN paid.order_id IS NULL THEN 1 ELSE 0 END) AS blocked_orders,
           sum(CASE WHEN paid.order_id IS NULL THEN b.pence ELSE 0 END) AS blocked_pence,
           sum(CASE WHEN paid.order_id IS NULL THEN 0 ELSE 1 END) AS retried_orders,
           sum(CASE WHEN paid.order_id IS NULL THEN 0 ELSE b.pence END) AS retried_pence
    FROM evening e
    JOIN (SELECT DISTINCT order_id FROM payment_failed) failed ON failed.order_id = e.order_id
    JOIN basket b ON b.order_id = e.order_id
    LEFT JOIN (SELECT DISTINCT order_id FROM payment_succeeded) paid ON paid.order_id = e.order_id
    GROUP BY e.minute
), thresholds(percent) AS (
    VALUES (80), (85), (90), (95)
), judged AS (
    SELECT t.percent, p.minute, p.incident,
           CASE WHEN 100 * p.succeeded < t.percent * p.attempts THEN 1 ELSE 0 END AS pages
    FROM thresholds t CROSS JOIN per_minute p
)
SELECT j.percent,
       CAST(sum(j.pages) AS BIGINT),
       CAST(sum(j.incident * j.pages) AS BIGINT),
       CAST(sum(j.incident) AS BIGINT),
       CAST(COALESCE(sum(CASE WHEN j.incident = 1 AND j.pages = 0 THEN r.blocked_orders END), 0) AS BIGINT),
       CAST(COALESCE(sum(CASE WHEN j.incident = 1 AND j.pages = 0 THEN r.blocked_pence END), 0) AS BIGINT),
       CAST(COALESCE(sum(CASE WHEN j.incident = 1 AND j.pages = 0 THEN r.retried_orders END), 0) AS BIGINT),
       CAST(COALESCE(sum(CASE WHEN j.incident = 1 AND j.pages = 0 THEN r.retried_pence END), 0) AS BIGINT)
FROM judged j
LEFT JOIN at_risk r ON r.minute = j.minute
GROUP BY j.percent
ORDER BY j.percent;

-- name: reorders
-- What does the bug do downstream? Per kind of user (first-time: their first order ever,
-- as the users replica says, was their first order in the run; returning: they had
-- ordered before) and per how the payment of that first order went: users, and those who
-- ordered again by the 28th day after the evening.
WITH bounds AS (
    SELECT CAST($1 AS TEXT) AS prefix, CAST($2 AS TEXT) AS evening_starts,
           CAST($3 AS TEXT) AS evening_ends, CAST($4 AS TEXT) AS incident_starts,
           CAST($5 AS TEXT) AS incident_ends, CAST($6 AS TEXT) AS reorder_cutoff
), orders AS (
    SELECT o.order_id, o.user_id, o.placed_at
    FROM order_placed o
    JOIN bounds ON o.order_id LIKE bounds.prefix || '%'
), first_order_at AS (
    SELECT user_id, min(placed_at) AS placed_at FROM orders GROUP BY user_id
), first_order AS (
    SELECT o.user_id, o.order_id, o.placed_at,
           CASE WHEN NOT EXISTS (SELECT 1 FROM payment_failed pf WHERE pf.order_id = o.order_id)
                THEN 'unaffected'
                WHEN EXISTS (SELECT 1 FROM payment_succeeded ps WHERE ps.order_id = o.order_id)
                THEN 'recovered'
                ELSE 'blocked' END AS outcome
    FROM orders o
    JOIN first_order_at f ON f.user_id = o.user_id AND f.placed_at = o.placed_at
), reordered AS (
    SELECT DISTINCT o.user_id
    FROM orders o
    JOIN first_order_at f ON f.user_id = o.user_id
    JOIN bounds ON substr(CAST(o.placed_at AS TEXT), 1, 10) <= bounds.reorder_cutoff
    WHERE o.placed_at > f.placed_at
)
SELECT CASE WHEN u.first_order_date = substr(CAST(fo.placed_at AS TEXT), 1, 10)
            THEN 'first-time' ELSE 'returning' END AS kind,
       fo.outcome,
       count(*),
       count(r.user_id)
FROM first_order fo
JOIN users u ON u.user_id = fo.user_id
LEFT JOIN reordered r ON r.user_id = fo.user_id
GROUP BY 1, 2;
