-- Naive baseline, step 3: the research document's per-event PQL sum as written (every
-- event of a milestone's triggering event adds its weight, in full when it is at most
-- 7 days old, half otherwise), with CURRENT_DATE replaced by the scored day {day} and
-- only events up to that day. Run once per day of the 90 days the package's
-- activation_pql_scores_daily covers.
insert into naive_pql_daily
WITH user_events AS (
    SELECT e.user_id, cast(e.timestamp AS date) AS event_date, m.weight
    FROM naive_events e
    JOIN naive_milestones m ON e.event_name = m.triggered_by_event
    WHERE cast(e.timestamp AS date) <= DATE '{day}'
)
SELECT
    DATE '{day}' AS score_date,
    user_id,
    SUM(weight * CASE WHEN event_date >= DATE '{day}' - INTERVAL '7 days' THEN 1 ELSE 0.5 END) AS pql_score
FROM user_events
GROUP BY user_id
