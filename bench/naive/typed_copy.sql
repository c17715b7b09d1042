-- Naive baseline, step 1: the typed copies the research recipes read.
-- Event names lower-cased with runs of non-alphanumerics turned into '_', timestamps
-- and signup times by try_cast; milestones from the package's seed file.
-- {milestones_csv} is replaced by the path of seeds/activation_milestones.csv.
create or replace table naive_events as
select
    trim(user_id) as user_id,
    trim(regexp_replace(lower(trim(event_name)), '[^a-z0-9]+', '_', 'g'), '_') as event_name,
    try_cast(trim(event_timestamp) as timestamp) as timestamp
from raw.events;

create or replace table naive_users as
select
    trim(user_id) as user_id,
    try_cast(trim(created_at) as timestamp) as created_at
from raw.users;

create or replace table naive_milestones as
select
    milestone_id,
    cast(weight as double) as weight,
    trim(regexp_replace(lower(trim(triggered_by_event)), '[^a-z0-9]+', '_', 'g'), '_') as triggered_by_event
from read_csv('{milestones_csv}', header = true, all_varchar = true);

create or replace table naive_cohort_completion (
    milestone_id varchar, cohort_week timestamp, completion_pct double
);

create or replace table naive_pql_daily (
    score_date date, user_id varchar, pql_score double
)
