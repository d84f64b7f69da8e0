"""`cadre serve --ray`: the same OpenAI-compatible app as a Ray Serve application.

- config.py: the Serve config (deployments, replicas, autoscaling) built from the project
  file; the same dict `--print-config` prints and configs/kuberay/rayservice.yaml embeds.
- app.py: the app builder Ray imports (`cadre.server.scale.app:build`) and the ingress
  deployment, whose replicas each run `create_app` over an engine of their own.
- models.py: the model deployment; local generative models load through
  `serve.multiplexed`, a bounded LRU per replica sized by the memory budget.
- remote.py: the seam: a backend in the ingress's registry that forwards generation to
  the model deployment with the model id, so Serve picks a replica that has it loaded.
- shared.py: upstream cool-downs in one named Ray actor, seen by every ingress replica.
- run.py: the command itself: start or join Ray, deploy, wait, shut down.
"""
