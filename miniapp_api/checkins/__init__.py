"""Check-ins: showing up. Daily challenges (打卡) with streaks, make-up cards and a finishing
reward; offline events with personal tickets and a door check-in; and stickiness (粘性), the
share of the members an activity called who answered it."""
