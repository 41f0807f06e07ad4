// How Tether reaches the cluster: a kubeconfig file when one is named; inside a pod, the pod's
// service account (token and CA mounted by the kubelet, API server from KUBERNETES_SERVICE_HOST/PORT);
// elsewhere the usual kubeconfig loading rules ($KUBECONFIG, ~/.kube/config).
import * as k8s from '@kubernetes/client-node';

/** Where the kubelet mounts the service account; TETHER_SERVICEACCOUNT_ROOT prefixes it (a volume mounted elsewhere, tests). */
const serviceAccountRoot = (env: NodeJS.ProcessEnv) => env.TETHER_SERVICEACCOUNT_ROOT ?? '';

export function inCluster(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && !env.KUBECONFIG);
}

export function clusterKubeConfig(path?: string, env: NodeJS.ProcessEnv = process.env): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (path) kc.loadFromFile(path);
  // The client reads the token file on every request, so a rotated projected token is picked up.
  else if (inCluster(env)) kc.loadFromCluster(serviceAccountRoot(env));
  else kc.loadFromDefault();
  return kc;
}
