# The bench's Tether policy (bench/admission/run.ts) in Rego, for OPA as the peer admission
# webhook: the same 20 agents (ServiceAccounts bot-0 … bot-19 in namespace agents), the same
# boundary (namespace shop; apps deployments and deployments/scale; get, update, patch) and the
# same condition (object.spec.replicas <= 20). No budgets, breakers or ledger: OPA keeps no
# durable state between requests, so it decides each review alone and writes nothing.
#
# Served as OPA's default decision (opa run --set=default_decision=tether/admission/review), so
# the raw AdmissionReview the API server POSTs is the input and the AdmissionReview below is the
# answer, with no wrapping on either side.
package tether.admission

import rego.v1

agent_prefix := "system:serviceaccount:agents:"

agents := {sprintf("bot-%d", [i]) | some i in numbers.range(0, 19)}

namespaces := {"shop"}

resources := {"deployments", "deployments/scale"}

verbs := {"get", "update", "patch"}

req := input.request

resource := concat("/", [req.resource.resource, req.subResource]) if req.subResource

else := req.resource.resource

# As Tether names them: a PATCH arrives as operation UPDATE with PatchOptions.
verb := "patch" if {
	req.operation == "UPDATE"
	req.options.kind == "PatchOptions"
}

else := lower(req.operation)

governed if startswith(req.userInfo.username, agent_prefix)

agent := substring(req.userInfo.username, count(agent_prefix), -1) if governed

reasons contains "unknown agent: not declared by any Agent" if {
	governed
	not agents[agent]
}

reasons contains sprintf("namespace %s is outside the boundary", [req.namespace]) if {
	governed
	not namespaces[req.namespace]
}

reasons contains sprintf("%s %s/%s is outside the boundary", [verb, req.resource.group, resource]) if {
	governed
	not allowed_rule
}

reasons contains sprintf("condition max failed: object.spec.replicas <= 20 (replicas %v)", [req.object.spec.replicas]) if {
	governed
	not req.object.spec.replicas <= 20
}

allowed_rule if {
	req.resource.group == "apps"
	resources[resource]
	verbs[verb]
}

default allowed := false

allowed if count(reasons) == 0

review := {
	"apiVersion": "admission.k8s.io/v1",
	"kind": "AdmissionReview",
	"response": object.union({"uid": req.uid, "allowed": allowed}, status),
}

status := {} if allowed

else := {"status": {"code": 403, "reason": "Forbidden", "message": concat("; ", sort(reasons))}}
