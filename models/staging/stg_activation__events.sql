{#- One row per raw events row: names normalised, time parsed to UTC, and the
    row-level problems a single row can show by itself. Problems that need other
    tables (unknown user, future time, duplicates) are decided downstream.

    The raw column names come from the `activation_event_*_column` vars, whose defaults
    are the columns of the events layout (`activation_events_layout`; canonical:
    event_id, user_id, event_name, event_timestamp, properties); with
    `activation_event_id_column` or `activation_event_properties_column` null the
    column reads as null (duplicates are then found by content). With
    `activation_event_property_columns` the properties are a JSON object of those
    columns. In the mixpanel layout the event id is insert_id, distinct_id, name and
    time together (Mixpanel's own duplicate rule). The properties of
    `activation_event_passthrough_properties` come out as columns `property_<key>`.

    Event names are normalised once per distinct raw name and joined back: a product
    has tens of event names and billions of events, and the regex replace per row
    was the costliest expression of the model.

    The body is macros/activation_staged_events.sql, which
    int_activation__events_classified inlines with its filters placed before the
    parse. -#}

with

{{ activation_staged_events_ctes() }}

select * from final
