"""VIP invitations: the customer import, selection by rule, personal links, and the page a
customer accepts or declines on."""
