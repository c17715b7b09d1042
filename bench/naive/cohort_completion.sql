-- Naive baseline, step 2: the research document's cohort completion query as written
-- (CROSS JOIN of users with the distinct cohorts, LEFT JOIN of events on the event name
-- and the milestone's window), with the package's default weekly cohorts. Run once per
-- milestone whose requirement is a single event: {milestone_id}, {event_name} and
-- {timeframe} (an interval such as '48 hours') are filled in per milestone.
insert into naive_cohort_completion
SELECT
    '{milestone_id}' AS milestone_id,
    c.cohort_week AS cohort_week,
    COUNT(DISTINCT e.user_id) * 100.0 / COUNT(DISTINCT u.user_id) AS completion_pct
FROM
    naive_users u
CROSS JOIN
    (SELECT DISTINCT date_trunc('week', created_at) AS cohort_week FROM naive_users) c
LEFT JOIN
    naive_events e ON u.user_id = e.user_id
    AND e.event_name = '{event_name}'
    AND e.timestamp BETWEEN u.created_at AND u.created_at + INTERVAL '{timeframe}'
WHERE
    date_trunc('week', u.created_at) = c.cohort_week
GROUP BY c.cohort_week
