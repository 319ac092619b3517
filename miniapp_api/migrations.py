"""Schema versions.

Every database, new or old, gets the steps it lacks, in order, one transaction per step; a new
database simply lacks them all. Each step is the SQL it ran when it shipped, written out per
backend, and never changes once released. (Steps used to be built from the current models, so a
step's effect changed whenever a model did, and a new database could differ from one upgraded
step by step.)

To change the schema: change the model, then append a step whose statements bring a database
at the previous version to the model's shape. tests/test_migrations.py checks that a database
built by the steps matches the models, and that an upgrade keeps every row.
"""

from datetime import UTC, datetime

from peewee import Table

from miniapp_api.db import db, is_sqlite

# A step is {"sqlite": block, "postgresql": block} of statements each ending in ";", or a
# function taking the database. The statements are peewee's own text: a line break in a block
# stands for one space, so SQLite's copy of the schema (sqlite_master.sql) is the same
# whichever way a database got its version.

# 1. Live codes: campaigns, channels, WeChat groups, visits, and this version table (a19f83a).
#    As created from 44fa2ff on: that commit dropped a19f83a's index on visit.campaign_id
#    (the composite indexes lead with it) without a step, so databases made at a19f83a
#    alone still carry a redundant "visit_campaign_id" index.
STEP_1 = {
    "sqlite": """
CREATE TABLE IF NOT EXISTS "campaign" ("id" INTEGER NOT NULL PRIMARY KEY,
    "slug" VARCHAR(64) NOT NULL, "title" VARCHAR(120) NOT NULL, "description" TEXT NOT NULL,
    "rules" TEXT NOT NULL, "promise" TEXT NOT NULL, "staff_contact" VARCHAR(120) NOT NULL,
    "all_full_since" DATETIME, "created_at" DATETIME NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "campaign_slug" ON "campaign" ("slug");
CREATE TABLE IF NOT EXISTS "channel" ("id" INTEGER NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "code" VARCHAR(32) NOT NULL, "label" VARCHAR(60) NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "channel_campaign_id" ON "channel" ("campaign_id");
CREATE UNIQUE INDEX IF NOT EXISTS "channel_campaign_id_code" ON "channel" ("campaign_id",
    "code");
CREATE TABLE IF NOT EXISTS "wechat_group" ("id" INTEGER NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "name" VARCHAR(60) NOT NULL, "position" INTEGER NOT NULL,
    "cutoff" INTEGER NOT NULL CHECK (cutoff > 0), "sent" INTEGER NOT NULL CHECK (sent >= 0),
    "active" INTEGER NOT NULL, "qr_image" BLOB, "qr_digest" VARCHAR(64), "qr_payload" TEXT,
    "qr_generated_at" DATETIME,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "group_campaign_id" ON "wechat_group" ("campaign_id");
CREATE TABLE IF NOT EXISTS "schemaversion" ("version" INTEGER NOT NULL PRIMARY KEY,
    "applied_at" DATETIME NOT NULL);
CREATE TABLE IF NOT EXISTS "visit" ("id" INTEGER NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "channel_id" INTEGER, "group_id" INTEGER,
    "visitor" VARCHAR(64) NOT NULL, "agent" VARCHAR(16) NOT NULL,
    "ip_hash" VARCHAR(64) NOT NULL, "outcome" VARCHAR(16) NOT NULL, "counted_day" DATE,
    "created_at" DATETIME NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("channel_id") REFERENCES "channel" ("id") ON DELETE SET NULL,
    FOREIGN KEY ("group_id") REFERENCES "wechat_group" ("id") ON DELETE SET NULL);
CREATE INDEX IF NOT EXISTS "visit_channel_id" ON "visit" ("channel_id");
CREATE INDEX IF NOT EXISTS "visit_group_id" ON "visit" ("group_id");
CREATE UNIQUE INDEX IF NOT EXISTS "visit_campaign_id_visitor_counted_day"
    ON "visit" ("campaign_id", "visitor", "counted_day");
CREATE INDEX IF NOT EXISTS "visit_campaign_id_created_at" ON "visit" ("campaign_id",
    "created_at");
""",
    "postgresql": """
CREATE TABLE IF NOT EXISTS "campaign" ("id" SERIAL NOT NULL PRIMARY KEY,
    "slug" VARCHAR(64) NOT NULL, "title" VARCHAR(120) NOT NULL, "description" TEXT NOT NULL,
    "rules" TEXT NOT NULL, "promise" TEXT NOT NULL, "staff_contact" VARCHAR(120) NOT NULL,
    "all_full_since" TIMESTAMP, "created_at" TIMESTAMP NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "campaign_slug" ON "campaign" ("slug");
CREATE TABLE IF NOT EXISTS "channel" ("id" SERIAL NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "code" VARCHAR(32) NOT NULL, "label" VARCHAR(60) NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "channel_campaign_id" ON "channel" ("campaign_id");
CREATE UNIQUE INDEX IF NOT EXISTS "channel_campaign_id_code" ON "channel" ("campaign_id",
    "code");
CREATE TABLE IF NOT EXISTS "wechat_group" ("id" SERIAL NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "name" VARCHAR(60) NOT NULL, "position" INTEGER NOT NULL,
    "cutoff" INTEGER NOT NULL CHECK (cutoff > 0), "sent" INTEGER NOT NULL CHECK (sent >= 0),
    "active" BOOLEAN NOT NULL, "qr_image" BYTEA, "qr_digest" VARCHAR(64), "qr_payload" TEXT,
    "qr_generated_at" TIMESTAMP,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "group_campaign_id" ON "wechat_group" ("campaign_id");
CREATE TABLE IF NOT EXISTS "schemaversion" ("version" INTEGER NOT NULL PRIMARY KEY,
    "applied_at" TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS "visit" ("id" SERIAL NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "channel_id" INTEGER, "group_id" INTEGER,
    "visitor" VARCHAR(64) NOT NULL, "agent" VARCHAR(16) NOT NULL,
    "ip_hash" VARCHAR(64) NOT NULL, "outcome" VARCHAR(16) NOT NULL, "counted_day" DATE,
    "created_at" TIMESTAMP NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("channel_id") REFERENCES "channel" ("id") ON DELETE SET NULL,
    FOREIGN KEY ("group_id") REFERENCES "wechat_group" ("id") ON DELETE SET NULL);
CREATE INDEX IF NOT EXISTS "visit_channel_id" ON "visit" ("channel_id");
CREATE INDEX IF NOT EXISTS "visit_group_id" ON "visit" ("group_id");
CREATE UNIQUE INDEX IF NOT EXISTS "visit_campaign_id_visitor_counted_day"
    ON "visit" ("campaign_id", "visitor", "counted_day");
CREATE INDEX IF NOT EXISTS "visit_campaign_id_created_at" ON "visit" ("campaign_id",
    "created_at");
""",
}

# 2. Staff accounts, sessions, login attempts, API tokens, the audit log (841efa4).
STEP_2 = {
    "sqlite": """
CREATE TABLE IF NOT EXISTS "staff" ("id" INTEGER NOT NULL PRIMARY KEY,
    "username" VARCHAR(64) NOT NULL, "display_name" VARCHAR(60) NOT NULL,
    "role" VARCHAR(16) NOT NULL CHECK (role IN ('admin', 'operator', 'trainer')),
    "password_hash" VARCHAR(255) NOT NULL, "active" INTEGER NOT NULL,
    "created_at" DATETIME NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "staff_username" ON "staff" ("username");
CREATE TABLE IF NOT EXISTS "apitoken" ("id" INTEGER NOT NULL PRIMARY KEY,
    "staff_id" INTEGER NOT NULL, "name" VARCHAR(60) NOT NULL, "token_hash" VARCHAR(64) NOT NULL,
    "prefix" VARCHAR(12) NOT NULL, "created_at" DATETIME NOT NULL, "last_used_at" DATETIME,
    "revoked_at" DATETIME,
    FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "apitoken_staff_id" ON "apitoken" ("staff_id");
CREATE UNIQUE INDEX IF NOT EXISTS "apitoken_token_hash" ON "apitoken" ("token_hash");
CREATE TABLE IF NOT EXISTS "auditentry" ("id" INTEGER NOT NULL PRIMARY KEY, "staff_id" INTEGER,
    "action" VARCHAR(64) NOT NULL, "target" VARCHAR(120) NOT NULL, "detail" TEXT NOT NULL,
    "at" DATETIME NOT NULL,
    FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE SET NULL);
CREATE INDEX IF NOT EXISTS "auditentry_staff_id" ON "auditentry" ("staff_id");
CREATE INDEX IF NOT EXISTS "auditentry_at" ON "auditentry" ("at");
CREATE TABLE IF NOT EXISTS "loginattempt" ("id" INTEGER NOT NULL PRIMARY KEY,
    "username" VARCHAR(64) NOT NULL, "ip_hash" VARCHAR(64) NOT NULL,
    "succeeded" INTEGER NOT NULL, "at" DATETIME NOT NULL);
CREATE INDEX IF NOT EXISTS "loginattempt_username_at" ON "loginattempt" ("username", "at");
CREATE INDEX IF NOT EXISTS "loginattempt_ip_hash_at" ON "loginattempt" ("ip_hash", "at");
CREATE TABLE IF NOT EXISTS "staffsession" ("id" INTEGER NOT NULL PRIMARY KEY,
    "token_hash" VARCHAR(64) NOT NULL, "staff_id" INTEGER, "data" TEXT NOT NULL,
    "created_at" DATETIME NOT NULL, "expires_at" DATETIME NOT NULL,
    FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX IF NOT EXISTS "staffsession_token_hash" ON "staffsession" ("token_hash");
CREATE INDEX IF NOT EXISTS "staffsession_staff_id" ON "staffsession" ("staff_id");
CREATE INDEX IF NOT EXISTS "staffsession_expires_at" ON "staffsession" ("expires_at");
""",
    "postgresql": """
CREATE TABLE IF NOT EXISTS "staff" ("id" SERIAL NOT NULL PRIMARY KEY,
    "username" VARCHAR(64) NOT NULL, "display_name" VARCHAR(60) NOT NULL,
    "role" VARCHAR(16) NOT NULL CHECK (role IN ('admin', 'operator', 'trainer')),
    "password_hash" VARCHAR(255) NOT NULL, "active" BOOLEAN NOT NULL,
    "created_at" TIMESTAMP NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "staff_username" ON "staff" ("username");
CREATE TABLE IF NOT EXISTS "apitoken" ("id" SERIAL NOT NULL PRIMARY KEY,
    "staff_id" INTEGER NOT NULL, "name" VARCHAR(60) NOT NULL, "token_hash" VARCHAR(64) NOT NULL,
    "prefix" VARCHAR(12) NOT NULL, "created_at" TIMESTAMP NOT NULL, "last_used_at" TIMESTAMP,
    "revoked_at" TIMESTAMP,
    FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "apitoken_staff_id" ON "apitoken" ("staff_id");
CREATE UNIQUE INDEX IF NOT EXISTS "apitoken_token_hash" ON "apitoken" ("token_hash");
CREATE TABLE IF NOT EXISTS "auditentry" ("id" SERIAL NOT NULL PRIMARY KEY, "staff_id" INTEGER,
    "action" VARCHAR(64) NOT NULL, "target" VARCHAR(120) NOT NULL, "detail" TEXT NOT NULL,
    "at" TIMESTAMP NOT NULL,
    FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE SET NULL);
CREATE INDEX IF NOT EXISTS "auditentry_staff_id" ON "auditentry" ("staff_id");
CREATE INDEX IF NOT EXISTS "auditentry_at" ON "auditentry" ("at");
CREATE TABLE IF NOT EXISTS "loginattempt" ("id" SERIAL NOT NULL PRIMARY KEY,
    "username" VARCHAR(64) NOT NULL, "ip_hash" VARCHAR(64) NOT NULL,
    "succeeded" BOOLEAN NOT NULL, "at" TIMESTAMP NOT NULL);
CREATE INDEX IF NOT EXISTS "loginattempt_username_at" ON "loginattempt" ("username", "at");
CREATE INDEX IF NOT EXISTS "loginattempt_ip_hash_at" ON "loginattempt" ("ip_hash", "at");
CREATE TABLE IF NOT EXISTS "staffsession" ("id" SERIAL NOT NULL PRIMARY KEY,
    "token_hash" VARCHAR(64) NOT NULL, "staff_id" INTEGER, "data" TEXT NOT NULL,
    "created_at" TIMESTAMP NOT NULL, "expires_at" TIMESTAMP NOT NULL,
    FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX IF NOT EXISTS "staffsession_token_hash" ON "staffsession" ("token_hash");
CREATE INDEX IF NOT EXISTS "staffsession_staff_id" ON "staffsession" ("staff_id");
CREATE INDEX IF NOT EXISTS "staffsession_expires_at" ON "staffsession" ("expires_at");
""",
}

# 3. campaign.template, the playbook a campaign was made from (841efa4, with step 2). Peewee
#    added it nullable, filled it, then made it NOT NULL; SQLite cannot alter a column, so
#    there that meant rebuilding the table. Either way the column comes last.
STEP_3 = {
    "sqlite": """
ALTER TABLE "campaign" ADD COLUMN "template" VARCHAR(40);
UPDATE "campaign" SET "template" = '';
DROP TABLE IF EXISTS "campaign__tmp__";
CREATE TABLE "campaign__tmp__" ("id" INTEGER NOT NULL PRIMARY KEY, "slug" VARCHAR(64) NOT NULL,
    "title" VARCHAR(120) NOT NULL, "description" TEXT NOT NULL, "rules" TEXT NOT NULL,
    "promise" TEXT NOT NULL, "staff_contact" VARCHAR(120) NOT NULL, "all_full_since" DATETIME,
    "created_at" DATETIME NOT NULL, "template" VARCHAR(40) NOT NULL);
INSERT INTO "campaign__tmp__" ("id", "slug", "title", "description", "rules", "promise",
    "staff_contact", "all_full_since", "created_at", "template") SELECT "id", "slug", "title",
    "description", "rules", "promise", "staff_contact", "all_full_since", "created_at",
    "template" FROM "campaign";
DROP TABLE "campaign";
ALTER TABLE "campaign__tmp__" RENAME TO "campaign";
CREATE UNIQUE INDEX "campaign_slug" ON "campaign" ("slug");
""",
    "postgresql": """
ALTER TABLE "campaign" ADD COLUMN "template" VARCHAR(40);
UPDATE "campaign" SET "template" = '';
ALTER TABLE "campaign" ALTER COLUMN "template" SET NOT NULL;
""",
}

# 4. Referrals: programmes, reward tiers, members, referrals, rewards (17d9ebc).
STEP_4 = {
    "sqlite": """
CREATE TABLE IF NOT EXISTS "member" ("id" INTEGER NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "code" VARCHAR(16) NOT NULL,
    "nickname" VARCHAR(20) NOT NULL, "avatar" BLOB, "phone_hash" VARCHAR(64),
    "visitor" VARCHAR(64) NOT NULL, "ip_hash" VARCHAR(64) NOT NULL, "referrer_id" INTEGER,
    "referrals" INTEGER NOT NULL CHECK (referrals >= 0),
    "second_level" INTEGER NOT NULL CHECK (second_level >= 0), "created_at" DATETIME NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("referrer_id") REFERENCES "member" ("id") ON DELETE SET NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "member_code" ON "member" ("code");
CREATE INDEX IF NOT EXISTS "member_referrer_id" ON "member" ("referrer_id");
CREATE UNIQUE INDEX IF NOT EXISTS "member_campaign_id_visitor" ON "member" ("campaign_id",
    "visitor");
CREATE UNIQUE INDEX IF NOT EXISTS "member_campaign_id_phone_hash" ON "member" ("campaign_id",
    "phone_hash");
CREATE INDEX IF NOT EXISTS "member_campaign_id_referrals" ON "member" ("campaign_id",
    "referrals");
CREATE TABLE IF NOT EXISTS "referral" ("id" INTEGER NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "referrer_id" INTEGER NOT NULL, "friend_id" INTEGER,
    "friend_key" VARCHAR(64) NOT NULL, "level" INTEGER NOT NULL CHECK (level IN (1, 2)),
    "status" VARCHAR(8) NOT NULL, "reason" VARCHAR(16) NOT NULL, "ip_hash" VARCHAR(64) NOT NULL,
    "created_at" DATETIME NOT NULL, "decided_at" DATETIME, "decided_by_id" INTEGER,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("referrer_id") REFERENCES "member" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("friend_id") REFERENCES "member" ("id") ON DELETE SET NULL,
    FOREIGN KEY ("decided_by_id") REFERENCES "staff" ("id") ON DELETE SET NULL);
CREATE INDEX IF NOT EXISTS "referral_referrer_id" ON "referral" ("referrer_id");
CREATE INDEX IF NOT EXISTS "referral_friend_id" ON "referral" ("friend_id");
CREATE INDEX IF NOT EXISTS "referral_decided_by_id" ON "referral" ("decided_by_id");
CREATE INDEX IF NOT EXISTS "referral_campaign_id_created_at" ON "referral" ("campaign_id",
    "created_at");
CREATE UNIQUE INDEX IF NOT EXISTS "referral_campaign_id_friend_key_level"
    ON "referral" ("campaign_id", "friend_key", "level") WHERE status IN ('counted', 'held');
CREATE TABLE IF NOT EXISTS "referralprogram" ("id" INTEGER NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "count_on" VARCHAR(8) NOT NULL CHECK (count_on IN ('signup',
    'sent')), "max_per_hour" INTEGER NOT NULL CHECK (max_per_hour > 0),
    "leaderboard_size" INTEGER NOT NULL CHECK (leaderboard_size >= 0),
    "friend_reward" VARCHAR(60) NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX IF NOT EXISTS "referralprogram_campaign_id"
    ON "referralprogram" ("campaign_id");
CREATE TABLE IF NOT EXISTS "reward" ("id" INTEGER NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "member_id" INTEGER NOT NULL, "key" VARCHAR(24) NOT NULL,
    "name" VARCHAR(60) NOT NULL, "code" VARCHAR(16) NOT NULL, "issued_at" DATETIME NOT NULL,
    "redeemed_at" DATETIME, "redeemed_by_id" INTEGER,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("member_id") REFERENCES "member" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("redeemed_by_id") REFERENCES "staff" ("id") ON DELETE SET NULL);
CREATE INDEX IF NOT EXISTS "reward_member_id" ON "reward" ("member_id");
CREATE UNIQUE INDEX IF NOT EXISTS "reward_code" ON "reward" ("code");
CREATE INDEX IF NOT EXISTS "reward_redeemed_by_id" ON "reward" ("redeemed_by_id");
CREATE UNIQUE INDEX IF NOT EXISTS "reward_member_id_key" ON "reward" ("member_id", "key");
CREATE INDEX IF NOT EXISTS "reward_campaign_id_issued_at" ON "reward" ("campaign_id",
    "issued_at");
CREATE TABLE IF NOT EXISTS "rewardtier" ("id" INTEGER NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "threshold" INTEGER NOT NULL CHECK (threshold > 0),
    "reward" VARCHAR(60) NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "rewardtier_campaign_id" ON "rewardtier" ("campaign_id");
CREATE UNIQUE INDEX IF NOT EXISTS "rewardtier_campaign_id_threshold"
    ON "rewardtier" ("campaign_id", "threshold");
""",
    "postgresql": """
CREATE TABLE IF NOT EXISTS "member" ("id" SERIAL NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "code" VARCHAR(16) NOT NULL,
    "nickname" VARCHAR(20) NOT NULL, "avatar" BYTEA, "phone_hash" VARCHAR(64),
    "visitor" VARCHAR(64) NOT NULL, "ip_hash" VARCHAR(64) NOT NULL, "referrer_id" INTEGER,
    "referrals" INTEGER NOT NULL CHECK (referrals >= 0),
    "second_level" INTEGER NOT NULL CHECK (second_level >= 0), "created_at" TIMESTAMP NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("referrer_id") REFERENCES "member" ("id") ON DELETE SET NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "member_code" ON "member" ("code");
CREATE INDEX IF NOT EXISTS "member_referrer_id" ON "member" ("referrer_id");
CREATE UNIQUE INDEX IF NOT EXISTS "member_campaign_id_visitor" ON "member" ("campaign_id",
    "visitor");
CREATE UNIQUE INDEX IF NOT EXISTS "member_campaign_id_phone_hash" ON "member" ("campaign_id",
    "phone_hash");
CREATE INDEX IF NOT EXISTS "member_campaign_id_referrals" ON "member" ("campaign_id",
    "referrals");
CREATE TABLE IF NOT EXISTS "referral" ("id" SERIAL NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "referrer_id" INTEGER NOT NULL, "friend_id" INTEGER,
    "friend_key" VARCHAR(64) NOT NULL, "level" INTEGER NOT NULL CHECK (level IN (1, 2)),
    "status" VARCHAR(8) NOT NULL, "reason" VARCHAR(16) NOT NULL, "ip_hash" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMP NOT NULL, "decided_at" TIMESTAMP, "decided_by_id" INTEGER,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("referrer_id") REFERENCES "member" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("friend_id") REFERENCES "member" ("id") ON DELETE SET NULL,
    FOREIGN KEY ("decided_by_id") REFERENCES "staff" ("id") ON DELETE SET NULL);
CREATE INDEX IF NOT EXISTS "referral_referrer_id" ON "referral" ("referrer_id");
CREATE INDEX IF NOT EXISTS "referral_friend_id" ON "referral" ("friend_id");
CREATE INDEX IF NOT EXISTS "referral_decided_by_id" ON "referral" ("decided_by_id");
CREATE INDEX IF NOT EXISTS "referral_campaign_id_created_at" ON "referral" ("campaign_id",
    "created_at");
CREATE UNIQUE INDEX IF NOT EXISTS "referral_campaign_id_friend_key_level"
    ON "referral" ("campaign_id", "friend_key", "level") WHERE status IN ('counted', 'held');
CREATE TABLE IF NOT EXISTS "referralprogram" ("id" SERIAL NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "count_on" VARCHAR(8) NOT NULL CHECK (count_on IN ('signup',
    'sent')), "max_per_hour" INTEGER NOT NULL CHECK (max_per_hour > 0),
    "leaderboard_size" INTEGER NOT NULL CHECK (leaderboard_size >= 0),
    "friend_reward" VARCHAR(60) NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX IF NOT EXISTS "referralprogram_campaign_id"
    ON "referralprogram" ("campaign_id");
CREATE TABLE IF NOT EXISTS "reward" ("id" SERIAL NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "member_id" INTEGER NOT NULL, "key" VARCHAR(24) NOT NULL,
    "name" VARCHAR(60) NOT NULL, "code" VARCHAR(16) NOT NULL, "issued_at" TIMESTAMP NOT NULL,
    "redeemed_at" TIMESTAMP, "redeemed_by_id" INTEGER,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("member_id") REFERENCES "member" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("redeemed_by_id") REFERENCES "staff" ("id") ON DELETE SET NULL);
CREATE INDEX IF NOT EXISTS "reward_member_id" ON "reward" ("member_id");
CREATE UNIQUE INDEX IF NOT EXISTS "reward_code" ON "reward" ("code");
CREATE INDEX IF NOT EXISTS "reward_redeemed_by_id" ON "reward" ("redeemed_by_id");
CREATE UNIQUE INDEX IF NOT EXISTS "reward_member_id_key" ON "reward" ("member_id", "key");
CREATE INDEX IF NOT EXISTS "reward_campaign_id_issued_at" ON "reward" ("campaign_id",
    "issued_at");
CREATE TABLE IF NOT EXISTS "rewardtier" ("id" SERIAL NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "threshold" INTEGER NOT NULL CHECK (threshold > 0),
    "reward" VARCHAR(60) NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "rewardtier_campaign_id" ON "rewardtier" ("campaign_id");
CREATE UNIQUE INDEX IF NOT EXISTS "rewardtier_campaign_id_threshold"
    ON "rewardtier" ("campaign_id", "threshold");
""",
}

# 5. VIP invitations: customers, VIP programmes, invitations (88f6a4a).
STEP_5 = {
    "sqlite": """
CREATE TABLE IF NOT EXISTS "customer" ("id" INTEGER NOT NULL PRIMARY KEY,
    "external_id" VARCHAR(64) NOT NULL, "name" VARCHAR(40) NOT NULL,
    "region" VARCHAR(40) NOT NULL,
    "purchase_total" INTEGER NOT NULL CHECK (purchase_total >= 0), "last_active" DATE,
    "phone_hash" VARCHAR(64), "imported_at" DATETIME NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "customer_external_id" ON "customer" ("external_id");
CREATE INDEX IF NOT EXISTS "customer_region" ON "customer" ("region");
CREATE TABLE IF NOT EXISTS "invitation" ("id" INTEGER NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "customer_id" INTEGER NOT NULL,
    "token" VARCHAR(64) NOT NULL, "status" VARCHAR(10) NOT NULL, "created_at" DATETIME NOT NULL,
    "expires_at" DATETIME NOT NULL, "opened_at" DATETIME, "accepted_at" DATETIME,
    "declined_at" DATETIME, "revoked_at" DATETIME,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("customer_id") REFERENCES "customer" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "invitation_customer_id" ON "invitation" ("customer_id");
CREATE UNIQUE INDEX IF NOT EXISTS "invitation_token" ON "invitation" ("token");
CREATE UNIQUE INDEX IF NOT EXISTS "invitation_campaign_id_customer_id"
    ON "invitation" ("campaign_id", "customer_id");
CREATE TABLE IF NOT EXISTS "vipprogram" ("id" INTEGER NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "rights" TEXT NOT NULL, "offer_url" VARCHAR(300) NOT NULL,
    "offer_label" VARCHAR(40) NOT NULL, "valid_days" INTEGER NOT NULL CHECK (valid_days > 0),
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX IF NOT EXISTS "vipprogram_campaign_id" ON "vipprogram" ("campaign_id");
""",
    "postgresql": """
CREATE TABLE IF NOT EXISTS "customer" ("id" SERIAL NOT NULL PRIMARY KEY,
    "external_id" VARCHAR(64) NOT NULL, "name" VARCHAR(40) NOT NULL,
    "region" VARCHAR(40) NOT NULL,
    "purchase_total" INTEGER NOT NULL CHECK (purchase_total >= 0), "last_active" DATE,
    "phone_hash" VARCHAR(64), "imported_at" TIMESTAMP NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "customer_external_id" ON "customer" ("external_id");
CREATE INDEX IF NOT EXISTS "customer_region" ON "customer" ("region");
CREATE TABLE IF NOT EXISTS "invitation" ("id" SERIAL NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "customer_id" INTEGER NOT NULL,
    "token" VARCHAR(64) NOT NULL, "status" VARCHAR(10) NOT NULL,
    "created_at" TIMESTAMP NOT NULL, "expires_at" TIMESTAMP NOT NULL, "opened_at" TIMESTAMP,
    "accepted_at" TIMESTAMP, "declined_at" TIMESTAMP, "revoked_at" TIMESTAMP,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("customer_id") REFERENCES "customer" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "invitation_customer_id" ON "invitation" ("customer_id");
CREATE UNIQUE INDEX IF NOT EXISTS "invitation_token" ON "invitation" ("token");
CREATE UNIQUE INDEX IF NOT EXISTS "invitation_campaign_id_customer_id"
    ON "invitation" ("campaign_id", "customer_id");
CREATE TABLE IF NOT EXISTS "vipprogram" ("id" SERIAL NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "rights" TEXT NOT NULL, "offer_url" VARCHAR(300) NOT NULL,
    "offer_label" VARCHAR(40) NOT NULL, "valid_days" INTEGER NOT NULL CHECK (valid_days > 0),
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX IF NOT EXISTS "vipprogram_campaign_id" ON "vipprogram" ("campaign_id");
""",
}
# 6. Check-ins: challenges, activities, participants, tickets, responses (issue 11).
STEP_6 = {
    "sqlite": """
CREATE TABLE IF NOT EXISTS "challenge" ("id" INTEGER NOT NULL PRIMARY KEY, "campaign_id" INTEGER
    NOT NULL, "days" INTEGER NOT NULL CHECK (days BETWEEN 1 AND 366), "starts_on" DATE NOT NULL,
    "timezone" VARCHAR(64) NOT NULL, "task" TEXT NOT NULL, "finish_days" INTEGER NOT NULL CHECK
    (finish_days >= 1), "reward" VARCHAR(60) NOT NULL, "makeup_cards" INTEGER NOT NULL CHECK
    (makeup_cards >= 0), "makeup_window" INTEGER NOT NULL CHECK (makeup_window >= 0), "hidden"
    INTEGER NOT NULL, "created_at" DATETIME NOT NULL, FOREIGN KEY ("campaign_id") REFERENCES
    "campaign" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX IF NOT EXISTS "challenge_campaign_id" ON "challenge" ("campaign_id");
CREATE TABLE IF NOT EXISTS "activity" ("id" INTEGER NOT NULL PRIMARY KEY, "campaign_id" INTEGER
    NOT NULL, "kind" VARCHAR(8) NOT NULL CHECK (kind IN ('day', 'event', 'call')), "title"
    VARCHAR(60) NOT NULL, "task" TEXT NOT NULL, "number" INTEGER, "starts_at" DATETIME, "place"
    VARCHAR(120) NOT NULL, "capacity" INTEGER CHECK (capacity > 0), "tickets" INTEGER NOT NULL
    CHECK (tickets >= 0), "created_at" DATETIME NOT NULL, FOREIGN KEY ("campaign_id") REFERENCES
    "campaign" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX IF NOT EXISTS "activity_campaign_id_kind_number" ON "activity"
    ("campaign_id", "kind", "number");
CREATE TABLE IF NOT EXISTS "participant" ("id" INTEGER NOT NULL PRIMARY KEY, "campaign_id"
    INTEGER NOT NULL, "member_id" INTEGER NOT NULL, "group_id" INTEGER, "first_day" INTEGER NOT
    NULL CHECK (first_day >= 1), "done" INTEGER NOT NULL CHECK (done >= 0), "cards_used" INTEGER
    NOT NULL CHECK (cards_used >= 0), "last_at" DATETIME, "joined_at" DATETIME NOT NULL, FOREIGN
    KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE, FOREIGN KEY
    ("member_id") REFERENCES "member" ("id") ON DELETE CASCADE, FOREIGN KEY ("group_id")
    REFERENCES "wechat_group" ("id") ON DELETE SET NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "participant_member_id" ON "participant" ("member_id");
CREATE INDEX IF NOT EXISTS "participant_group_id" ON "participant" ("group_id");
CREATE INDEX IF NOT EXISTS "participant_campaign_id_done" ON "participant" ("campaign_id",
    "done");
CREATE TABLE IF NOT EXISTS "ticket" ("id" INTEGER NOT NULL PRIMARY KEY, "activity_id" INTEGER
    NOT NULL, "token" VARCHAR(64) NOT NULL, "code" VARCHAR(8) NOT NULL, "holder" VARCHAR(40) NOT
    NULL, "member_id" INTEGER, "invitation_id" INTEGER, "group_id" INTEGER, "visitor"
    VARCHAR(64) NOT NULL, "created_at" DATETIME NOT NULL, "revoked_at" DATETIME, FOREIGN KEY
    ("activity_id") REFERENCES "activity" ("id") ON DELETE CASCADE, FOREIGN KEY ("member_id")
    REFERENCES "member" ("id") ON DELETE CASCADE, FOREIGN KEY ("invitation_id") REFERENCES
    "invitation" ("id") ON DELETE CASCADE, FOREIGN KEY ("group_id") REFERENCES "wechat_group"
    ("id") ON DELETE SET NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "ticket_token" ON "ticket" ("token");
CREATE INDEX IF NOT EXISTS "ticket_member_id" ON "ticket" ("member_id");
CREATE UNIQUE INDEX IF NOT EXISTS "ticket_invitation_id" ON "ticket" ("invitation_id");
CREATE INDEX IF NOT EXISTS "ticket_group_id" ON "ticket" ("group_id");
CREATE UNIQUE INDEX IF NOT EXISTS "ticket_activity_id_code" ON "ticket" ("activity_id", "code");
CREATE UNIQUE INDEX IF NOT EXISTS "ticket_activity_id_member_id" ON "ticket" ("activity_id",
    "member_id");
CREATE INDEX IF NOT EXISTS "ticket_activity_id_visitor" ON "ticket" ("activity_id", "visitor");
CREATE TABLE IF NOT EXISTS "response" ("id" INTEGER NOT NULL PRIMARY KEY, "campaign_id" INTEGER
    NOT NULL, "activity_id" INTEGER NOT NULL, "member_id" INTEGER, "ticket_id" INTEGER,
    "group_id" INTEGER, "how" VARCHAR(8) NOT NULL CHECK (how IN ('button', 'makeup', 'door',
    'self', 'walkin', 'staff')), "note" VARCHAR(200) NOT NULL, "photo" BLOB, "photo_digest"
    VARCHAR(16), "hidden" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, FOREIGN KEY
    ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE, FOREIGN KEY ("activity_id")
    REFERENCES "activity" ("id") ON DELETE CASCADE, FOREIGN KEY ("member_id") REFERENCES
    "member" ("id") ON DELETE CASCADE, FOREIGN KEY ("ticket_id") REFERENCES "ticket" ("id") ON
    DELETE CASCADE, FOREIGN KEY ("group_id") REFERENCES "wechat_group" ("id") ON DELETE SET
    NULL);
CREATE INDEX IF NOT EXISTS "response_member_id" ON "response" ("member_id");
CREATE UNIQUE INDEX IF NOT EXISTS "response_ticket_id" ON "response" ("ticket_id");
CREATE UNIQUE INDEX IF NOT EXISTS "response_activity_id_member_id" ON "response" ("activity_id",
    "member_id");
CREATE INDEX IF NOT EXISTS "response_campaign_id_created_at" ON "response" ("campaign_id",
    "created_at");
CREATE INDEX IF NOT EXISTS "response_campaign_id_activity_id_group_id" ON "response"
    ("campaign_id", "activity_id", "group_id");
""",
    "postgresql": """
CREATE TABLE IF NOT EXISTS "challenge" ("id" SERIAL NOT NULL PRIMARY KEY, "campaign_id" INTEGER
    NOT NULL, "days" INTEGER NOT NULL CHECK (days BETWEEN 1 AND 366), "starts_on" DATE NOT NULL,
    "timezone" VARCHAR(64) NOT NULL, "task" TEXT NOT NULL, "finish_days" INTEGER NOT NULL CHECK
    (finish_days >= 1), "reward" VARCHAR(60) NOT NULL, "makeup_cards" INTEGER NOT NULL CHECK
    (makeup_cards >= 0), "makeup_window" INTEGER NOT NULL CHECK (makeup_window >= 0), "hidden"
    BOOLEAN NOT NULL, "created_at" TIMESTAMP NOT NULL, FOREIGN KEY ("campaign_id") REFERENCES
    "campaign" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX "challenge_campaign_id" ON "challenge" ("campaign_id");
CREATE TABLE IF NOT EXISTS "activity" ("id" SERIAL NOT NULL PRIMARY KEY, "campaign_id" INTEGER
    NOT NULL, "kind" VARCHAR(8) NOT NULL CHECK (kind IN ('day', 'event', 'call')), "title"
    VARCHAR(60) NOT NULL, "task" TEXT NOT NULL, "number" INTEGER, "starts_at" TIMESTAMP, "place"
    VARCHAR(120) NOT NULL, "capacity" INTEGER CHECK (capacity > 0), "tickets" INTEGER NOT NULL
    CHECK (tickets >= 0), "created_at" TIMESTAMP NOT NULL, FOREIGN KEY ("campaign_id")
    REFERENCES "campaign" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX "activity_campaign_id_kind_number" ON "activity" ("campaign_id", "kind",
    "number");
CREATE TABLE IF NOT EXISTS "participant" ("id" SERIAL NOT NULL PRIMARY KEY, "campaign_id"
    INTEGER NOT NULL, "member_id" INTEGER NOT NULL, "group_id" INTEGER, "first_day" INTEGER NOT
    NULL CHECK (first_day >= 1), "done" INTEGER NOT NULL CHECK (done >= 0), "cards_used" INTEGER
    NOT NULL CHECK (cards_used >= 0), "last_at" TIMESTAMP, "joined_at" TIMESTAMP NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE, FOREIGN KEY
    ("member_id") REFERENCES "member" ("id") ON DELETE CASCADE, FOREIGN KEY ("group_id")
    REFERENCES "wechat_group" ("id") ON DELETE SET NULL);
CREATE UNIQUE INDEX "participant_member_id" ON "participant" ("member_id");
CREATE INDEX "participant_group_id" ON "participant" ("group_id");
CREATE INDEX "participant_campaign_id_done" ON "participant" ("campaign_id", "done");
CREATE TABLE IF NOT EXISTS "ticket" ("id" SERIAL NOT NULL PRIMARY KEY, "activity_id" INTEGER NOT
    NULL, "token" VARCHAR(64) NOT NULL, "code" VARCHAR(8) NOT NULL, "holder" VARCHAR(40) NOT
    NULL, "member_id" INTEGER, "invitation_id" INTEGER, "group_id" INTEGER, "visitor"
    VARCHAR(64) NOT NULL, "created_at" TIMESTAMP NOT NULL, "revoked_at" TIMESTAMP, FOREIGN KEY
    ("activity_id") REFERENCES "activity" ("id") ON DELETE CASCADE, FOREIGN KEY ("member_id")
    REFERENCES "member" ("id") ON DELETE CASCADE, FOREIGN KEY ("invitation_id") REFERENCES
    "invitation" ("id") ON DELETE CASCADE, FOREIGN KEY ("group_id") REFERENCES "wechat_group"
    ("id") ON DELETE SET NULL);
CREATE UNIQUE INDEX "ticket_token" ON "ticket" ("token");
CREATE INDEX "ticket_member_id" ON "ticket" ("member_id");
CREATE UNIQUE INDEX "ticket_invitation_id" ON "ticket" ("invitation_id");
CREATE INDEX "ticket_group_id" ON "ticket" ("group_id");
CREATE UNIQUE INDEX "ticket_activity_id_code" ON "ticket" ("activity_id", "code");
CREATE UNIQUE INDEX "ticket_activity_id_member_id" ON "ticket" ("activity_id", "member_id");
CREATE INDEX "ticket_activity_id_visitor" ON "ticket" ("activity_id", "visitor");
CREATE TABLE IF NOT EXISTS "response" ("id" SERIAL NOT NULL PRIMARY KEY, "campaign_id" INTEGER
    NOT NULL, "activity_id" INTEGER NOT NULL, "member_id" INTEGER, "ticket_id" INTEGER,
    "group_id" INTEGER, "how" VARCHAR(8) NOT NULL CHECK (how IN ('button', 'makeup', 'door',
    'self', 'walkin', 'staff')), "note" VARCHAR(200) NOT NULL, "photo" BYTEA, "photo_digest"
    VARCHAR(16), "hidden" BOOLEAN NOT NULL, "created_at" TIMESTAMP NOT NULL, FOREIGN KEY
    ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE, FOREIGN KEY ("activity_id")
    REFERENCES "activity" ("id") ON DELETE CASCADE, FOREIGN KEY ("member_id") REFERENCES
    "member" ("id") ON DELETE CASCADE, FOREIGN KEY ("ticket_id") REFERENCES "ticket" ("id") ON
    DELETE CASCADE, FOREIGN KEY ("group_id") REFERENCES "wechat_group" ("id") ON DELETE SET
    NULL);
CREATE INDEX "response_member_id" ON "response" ("member_id");
CREATE UNIQUE INDEX "response_ticket_id" ON "response" ("ticket_id");
CREATE UNIQUE INDEX "response_activity_id_member_id" ON "response" ("activity_id", "member_id");
CREATE INDEX "response_campaign_id_created_at" ON "response" ("campaign_id", "created_at");
CREATE INDEX "response_campaign_id_activity_id_group_id" ON "response" ("campaign_id",
    "activity_id", "group_id");
""",
}

# 7. Hostile members (issue 12): places per network address per hour (address_quota); a
#    daily referral limit per member; the device signal beside the address hash, to recognise
#    a referrer coming back without her cookie; and "pending" referrals (waiting for the friend
#    to be sent to a group) kept unique like counted and held ones. The new columns carry their
#    default in SQL, so existing rows get it and the column text matches the model's.
STEP_7 = {
    "sqlite": """
CREATE TABLE IF NOT EXISTS "address_quota" ("id" INTEGER NOT NULL PRIMARY KEY, "campaign_id"
    INTEGER NOT NULL, "ip_hash" VARCHAR(64) NOT NULL, "window_start" DATETIME NOT NULL, "taken"
    INTEGER NOT NULL CHECK (taken >= 0), "refused" INTEGER NOT NULL CHECK (refused >= 0),
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX "addressquota_campaign_id_ip_hash_window_start" ON "address_quota"
    ("campaign_id", "ip_hash", "window_start");
CREATE INDEX "addressquota_window_start" ON "address_quota" ("window_start");
ALTER TABLE "referralprogram" ADD COLUMN "max_per_day" INTEGER NOT NULL CHECK (max_per_day > 0)
    DEFAULT 20;
ALTER TABLE "member" ADD COLUMN "device_hash" VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE "referral" ADD COLUMN "device_hash" VARCHAR(64) NOT NULL DEFAULT '';
DROP INDEX "referral_campaign_id_friend_key_level";
CREATE UNIQUE INDEX IF NOT EXISTS "referral_campaign_id_friend_key_level" ON "referral"
    ("campaign_id", "friend_key", "level") WHERE status IN ('counted', 'held', 'pending');
""",
    "postgresql": """
CREATE TABLE IF NOT EXISTS "address_quota" ("id" SERIAL NOT NULL PRIMARY KEY, "campaign_id"
    INTEGER NOT NULL, "ip_hash" VARCHAR(64) NOT NULL, "window_start" TIMESTAMP NOT NULL, "taken"
    INTEGER NOT NULL CHECK (taken >= 0), "refused" INTEGER NOT NULL CHECK (refused >= 0),
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX "addressquota_campaign_id_ip_hash_window_start" ON "address_quota"
    ("campaign_id", "ip_hash", "window_start");
CREATE INDEX "addressquota_window_start" ON "address_quota" ("window_start");
ALTER TABLE "referralprogram" ADD COLUMN "max_per_day" INTEGER NOT NULL CHECK (max_per_day > 0)
    DEFAULT 20;
ALTER TABLE "member" ADD COLUMN "device_hash" VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE "referral" ADD COLUMN "device_hash" VARCHAR(64) NOT NULL DEFAULT '';
DROP INDEX "referral_campaign_id_friend_key_level";
CREATE UNIQUE INDEX "referral_campaign_id_friend_key_level" ON "referral" ("campaign_id",
    "friend_key", "level") WHERE status IN ('counted', 'held', 'pending');
""",
}

# 8. Campaign lifecycle (issue 13): campaigns and channels can be archived. NULL while they
#    run, so existing rows stay running and the column needs no default.
STEP_8 = {
    "sqlite": """
ALTER TABLE "campaign" ADD COLUMN "archived_at" DATETIME;
ALTER TABLE "channel" ADD COLUMN "archived_at" DATETIME;
""",
    "postgresql": """
ALTER TABLE "campaign" ADD COLUMN "archived_at" TIMESTAMP;
ALTER TABLE "channel" ADD COLUMN "archived_at" TIMESTAMP;
""",
}

# 9. Alerts pushed to staff (issue 13): one row per cause, unique, claimed by a conditional
#    UPDATE before sending; each campaign's webhook, "" (the global default) on existing rows.
STEP_9 = {
    "sqlite": """
CREATE TABLE IF NOT EXISTS "alert" ("id" INTEGER NOT NULL PRIMARY KEY, "campaign_id" INTEGER NOT
    NULL, "cause" VARCHAR(200) NOT NULL, "kind" VARCHAR(24) NOT NULL, "message" TEXT NOT NULL,
    "created_at" DATETIME NOT NULL, "attempts" INTEGER NOT NULL CHECK (attempts >= 0),
    "next_attempt_at" DATETIME NOT NULL, "claimed_until" DATETIME, "sent_at" DATETIME,
    "last_error" VARCHAR(300) NOT NULL, FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id")
    ON DELETE CASCADE);
CREATE INDEX "alert_campaign_id" ON "alert" ("campaign_id");
CREATE UNIQUE INDEX "alert_cause" ON "alert" ("cause");
CREATE INDEX "alert_sent_at_next_attempt_at" ON "alert" ("sent_at", "next_attempt_at");
ALTER TABLE "campaign" ADD COLUMN "alert_webhook" VARCHAR(500) NOT NULL DEFAULT '';
""",
    "postgresql": """
CREATE TABLE IF NOT EXISTS "alert" ("id" SERIAL NOT NULL PRIMARY KEY, "campaign_id" INTEGER NOT
    NULL, "cause" VARCHAR(200) NOT NULL, "kind" VARCHAR(24) NOT NULL, "message" TEXT NOT NULL,
    "created_at" TIMESTAMP NOT NULL, "attempts" INTEGER NOT NULL CHECK (attempts >= 0),
    "next_attempt_at" TIMESTAMP NOT NULL, "claimed_until" TIMESTAMP, "sent_at" TIMESTAMP,
    "last_error" VARCHAR(300) NOT NULL, FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id")
    ON DELETE CASCADE);
CREATE INDEX "alert_campaign_id" ON "alert" ("campaign_id");
CREATE UNIQUE INDEX "alert_cause" ON "alert" ("cause");
CREATE INDEX "alert_sent_at_next_attempt_at" ON "alert" ("sent_at", "next_attempt_at");
ALTER TABLE "campaign" ADD COLUMN "alert_webhook" VARCHAR(500) NOT NULL DEFAULT '';
""",
}

# 10. One language per surface (issue 13): each staff member's console language, "" (follow
#     the browser) on existing rows.
_STAFF_LANGUAGE = """ALTER TABLE "staff" ADD COLUMN "language" VARCHAR(8) NOT NULL DEFAULT '';"""
STEP_10 = {"sqlite": _STAFF_LANGUAGE, "postgresql": _STAFF_LANGUAGE}  # the same on both

# 11. Console figures at millions of visits (issue 15): visits counted once per complete hour
#     and channel, the people counted so far, and how far each campaign is counted.
_ROLLUP = """
CREATE TABLE IF NOT EXISTS "visit_hour" ("id" {serial} NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "hour" {timestamp} NOT NULL, "channel_id" INTEGER,
    "scans" INTEGER NOT NULL, "sent" INTEGER NOT NULL, "full" INTEGER NOT NULL,
    "bots" INTEGER NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE,
    FOREIGN KEY ("channel_id") REFERENCES "channel" ("id") ON DELETE SET NULL);
CREATE INDEX "visithour_channel_id" ON "visit_hour" ("channel_id");
CREATE INDEX "visithour_campaign_id_hour" ON "visit_hour" ("campaign_id", "hour");
CREATE TABLE IF NOT EXISTS "visit_person" ("id" {serial} NOT NULL PRIMARY KEY,
    "campaign_id" INTEGER NOT NULL, "visitor" VARCHAR(64) NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX "visitperson_campaign_id_visitor" ON "visit_person" ("campaign_id",
    "visitor");
CREATE TABLE IF NOT EXISTS "visit_rollup" ("campaign_id" INTEGER NOT NULL PRIMARY KEY,
    "through" {timestamp} NOT NULL, "people" INTEGER NOT NULL,
    FOREIGN KEY ("campaign_id") REFERENCES "campaign" ("id") ON DELETE CASCADE);
"""
STEP_11 = {
    "sqlite": _ROLLUP.format(serial="INTEGER", timestamp="DATETIME"),
    "postgresql": _ROLLUP.format(serial="SERIAL", timestamp="TIMESTAMP"),
}

# 12. Place shares: a group's count of people sent split over 8 rows (place_share), so that
#     concurrent scans of one campaign do not queue on one row; wechat_group.sent goes. Each
#     group's cut-off is split as livecode/places.py splits it (share n gets cutoff / 8, plus
#     one while n < cutoff % 8), and the people already sent fill the shares in order, any
#     beyond the cut-off (a count staff corrected upwards) kept in share 0.
_SHARES = """
CREATE TABLE IF NOT EXISTS "place_share" ("id" {serial} NOT NULL PRIMARY KEY,
    "group_id" INTEGER NOT NULL, "number" {small} NOT NULL,
    "cutoff" INTEGER NOT NULL CHECK (cutoff >= 0), "sent" INTEGER NOT NULL CHECK (sent >= 0),
    FOREIGN KEY ("group_id") REFERENCES "wechat_group" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX {if_not_exists}"placeshare_group_id_number" ON "place_share" ("group_id",
    "number");
INSERT INTO "place_share" ("group_id", "number", "cutoff", "sent")
    SELECT g.id, n.number, {share_cutoff},
    {greatest}(0, {least}({share_cutoff}, g.sent - (n.number * (g.cutoff / 8)
    + {least}(n.number, {rest}))))
    + CASE WHEN n.number = 0 THEN {greatest}(0, g.sent - g.cutoff) ELSE 0 END
    FROM "wechat_group" g CROSS JOIN ({numbers}) n;
ALTER TABLE "wechat_group" DROP COLUMN "sent";
"""
# The rest of cutoff / 8 without "%", which psycopg2 would read as a placeholder.
_REST = "(g.cutoff - g.cutoff / 8 * 8)"
_SHARE_CUTOFF = f"g.cutoff / 8 + CASE WHEN n.number < {_REST} THEN 1 ELSE 0 END"
# What the two backends' step 12 share; the rest is each one's spelling.
_SHARES_COMMON = {"share_cutoff": _SHARE_CUTOFF, "rest": _REST}
STEP_12 = {
    "sqlite": _SHARES.format(
        serial="INTEGER",
        small="INTEGER",
        if_not_exists="IF NOT EXISTS ",
        greatest="max",
        least="min",
        numbers=" UNION ALL ".join(f"SELECT {n} AS number" for n in range(8)),
        **_SHARES_COMMON,
    ),
    "postgresql": _SHARES.format(
        serial="SERIAL",
        small="SMALLINT",
        if_not_exists="",
        greatest="GREATEST",
        least="LEAST",
        numbers="SELECT generate_series(0, 7) AS number",
        **_SHARES_COMMON,
    ),
}

# Append only; never edit a step that has shipped.
STEPS = [
    STEP_1,
    STEP_2,
    STEP_3,
    STEP_4,
    STEP_5,
    STEP_6,
    STEP_7,
    STEP_8,
    STEP_9,
    STEP_10,
    STEP_11,
    STEP_12,
]
LATEST = len(STEPS)


class SchemaMismatch(RuntimeError):
    """The database is at a version this code cannot serve; the message says what to do."""


_versions = Table("schemaversion", ("version", "applied_at")).bind(db)


def _statements(block: str) -> list[str]:
    statements = (
        " ".join(line.strip() for line in s.strip().splitlines()) for s in block.split(";")
    )
    return [statement for statement in statements if statement]


def _run(step) -> None:
    if callable(step):
        step(db.obj)
        return
    for statement in _statements(step["sqlite" if is_sqlite() else "postgresql"]):
        db.execute_sql(statement)


def _version_table_exists() -> bool:
    if is_sqlite():
        return db.table_exists("schemaversion")
    # Peewee looks in "public"; to_regclass follows the search_path the deployment set.
    return db.execute_sql("SELECT to_regclass('schemaversion')").fetchone()[0] is not None


def current_version() -> int:
    if not _version_table_exists():
        return 0
    return db.execute_sql("SELECT MAX(version) FROM schemaversion").fetchone()[0] or 0


def check_version() -> str | None:
    """None when the database is at LATEST; otherwise what is wrong and what to do."""
    version = current_version()
    if version < LATEST:
        return (
            f"The database is at schema version {version}; this code needs {LATEST}. "
            "Run `qunbook init-db` to upgrade it."
        )
    if version > LATEST:
        return (
            f"The database is at schema version {version}, newer than this code ({LATEST}): "
            "deploy the newer code, or restore a backup made for this version."
        )
    return None


def migrate(target: int | None = None) -> tuple[int, int]:
    """Bring the database to `target` (default LATEST); returns (version before, after)."""
    target = LATEST if target is None else target
    before = current_version()
    if before > LATEST:
        # Steps this code does not know about ran here; going on would claim a version it is not.
        raise SchemaMismatch(check_version())
    if before >= target:
        return before, before
    # SQLite changes some columns by rebuilding the table (copy, drop, rename); with foreign
    # keys on, dropping it would cascade and delete every row that references it. SQLite's
    # documented procedure: keys off outside the transaction, check them before committing.
    sqlite = is_sqlite()
    if sqlite:
        db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        for version in range(before + 1, target + 1):
            # One transaction per step: a failed step leaves the database at the one before.
            with db.atomic():
                _run(STEPS[version - 1])
                _versions.insert(
                    version=version, applied_at=datetime.now(UTC).replace(tzinfo=None)
                ).execute()
                if sqlite:
                    broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"step {version} left broken references: {broken[:5]}")
    finally:
        if sqlite:
            db.execute_sql("PRAGMA foreign_keys = ON")
    return before, target
