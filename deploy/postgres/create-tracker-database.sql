-- Rasa's conversations (LEADBOT_TRACKER_STORE_URL) live beside the CRM store, in a database of
-- their own; the postgres image runs this once, when its data volume is new.
CREATE DATABASE rasa_trackers;
