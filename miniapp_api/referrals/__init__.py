"""Referral fission (裂变): members with personal codes, two-level attribution, reward tiers
issued once, and the anti-cheating rules with their recorded reasons."""
