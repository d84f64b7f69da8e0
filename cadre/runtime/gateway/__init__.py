"""The cost-aware gateway: learned routing among registry models, failover with
cool-downs, and the decision log that feedback and retraining read (docs/gateway.md)."""
