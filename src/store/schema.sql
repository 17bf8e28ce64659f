-- The results database, schema version 1 (PRAGMA user_version = 1).
-- This file is compiled into sweep (see src/store/CMakeLists.txt) and is the
-- code form of docs/schema.md. It creates a fresh database; later versions
-- add migration steps in src/store/schema.cpp instead of editing history.

CREATE TABLE sweeps (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  description   TEXT NOT NULL DEFAULT '',
  grid_path     TEXT NOT NULL DEFAULT '',
  grid_text     TEXT NOT NULL DEFAULT '',
  varied        TEXT NOT NULL DEFAULT '[]',   -- JSON array of dotted config paths
  created       TEXT NOT NULL,                -- ISO 8601 UTC
  updated       TEXT NOT NULL,
  host          TEXT NOT NULL DEFAULT '',
  sweep_version TEXT NOT NULL DEFAULT '',
  slurm_job_id  TEXT
);

CREATE TABLE models (
  hash                 TEXT PRIMARY KEY,
  spec                 TEXT NOT NULL,         -- JSON: input shape, classes, init, layers
  params_trainable     INTEGER NOT NULL,
  params_non_trainable INTEGER NOT NULL,
  flops_per_image      INTEGER NOT NULL
);

CREATE TABLE layers (
  model_hash           TEXT NOT NULL REFERENCES models(hash) ON DELETE CASCADE,
  idx                  INTEGER NOT NULL,
  name                 TEXT NOT NULL,
  type                 TEXT NOT NULL,
  output_shape         TEXT NOT NULL,
  params_trainable     INTEGER NOT NULL,
  params_non_trainable INTEGER NOT NULL,
  flops                INTEGER NOT NULL,
  PRIMARY KEY (model_hash, idx)
);

CREATE TABLE runs (
  id             INTEGER PRIMARY KEY,
  sweep_id       INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  hash           TEXT NOT NULL,
  config         TEXT NOT NULL,               -- canonical JSON
  varied         TEXT NOT NULL DEFAULT '{}',  -- JSON object: this run's varied values
  variant        TEXT NOT NULL DEFAULT '',
  repeat         INTEGER NOT NULL DEFAULT 0,
  seed           INTEGER NOT NULL DEFAULT 0,
  model_hash     TEXT REFERENCES models(hash),
  status         TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending','running','done','failed','diverged','interrupted')),
  backend        TEXT,
  device         TEXT,
  threads        INTEGER,
  cost_estimate  REAL,
  started        TEXT,
  finished       TEXT,
  wall_seconds   REAL,
  epochs_run     INTEGER NOT NULL DEFAULT 0,
  early_stopped  INTEGER NOT NULL DEFAULT 0,
  train_loss     REAL,
  train_accuracy REAL,
  val_loss       REAL,
  val_accuracy   REAL,
  test_loss      REAL,
  test_accuracy  REAL,
  test_precision REAL,
  test_recall    REAL,
  test_f1        REAL,
  error          TEXT,
  attempts       INTEGER NOT NULL DEFAULT 0,
  UNIQUE (sweep_id, hash)
);
CREATE INDEX runs_by_status ON runs(sweep_id, status);

CREATE TABLE epochs (
  run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  epoch          INTEGER NOT NULL,
  loss           REAL,
  accuracy       REAL,
  val_loss       REAL,
  val_accuracy   REAL,
  seconds        REAL,
  images_per_sec REAL,
  PRIMARY KEY (run_id, epoch)
);

CREATE TABLE confusion (
  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  true_label INTEGER NOT NULL,
  predicted  INTEGER NOT NULL,
  count      INTEGER NOT NULL,
  PRIMARY KEY (run_id, true_label, predicted)
);
