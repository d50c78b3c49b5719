"""Receivables: what the tenant's buyers owe and how they pay — KPIs (DSO, aging, dispute and rejection rates, dunning
effectiveness), a 13-week cash forecast from each buyer's payment behaviour, and a risk score per buyer."""
