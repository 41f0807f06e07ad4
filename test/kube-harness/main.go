// Command kube-harness runs an embedded etcd and the real kube-apiserver in one
// process, bound to 127.0.0.1, for Tether's end-to-end tests. See README.md.
package main

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/keyutil"
	basecompatibility "k8s.io/component-base/compatibility"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	"k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	"k8s.io/kubernetes/pkg/controller/clusterroleaggregation"
)

type identity struct {
	name, username string
	groups         []string
}

var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$`)

type identityFlags []identity

func (f *identityFlags) String() string { return fmt.Sprint(len(*f), " identities") }

// Set parses NAME=USERNAME[;GROUP,GROUP...]. Usernames and groups may contain
// colons (system:serviceaccount:ns:sa), so ';' separates the group list.
func (f *identityFlags) Set(v string) error {
	name, spec, ok := strings.Cut(v, "=")
	if !ok || !namePattern.MatchString(name) || name == "admin" {
		return fmt.Errorf("want NAME=USERNAME[;GROUP,...] with NAME matching %s and not 'admin', got %q", namePattern, v)
	}
	username, groupList, _ := strings.Cut(spec, ";")
	if username == "" {
		return fmt.Errorf("identity %q: empty username", name)
	}
	id := identity{name: name, username: username}
	for _, g := range strings.Split(groupList, ",") {
		if g = strings.TrimSpace(g); g != "" {
			id.groups = append(id.groups, g)
		}
	}
	for _, other := range *f {
		if other.name == name {
			return fmt.Errorf("identity %q given twice", name)
		}
	}
	*f = append(*f, id)
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kube-harness:", err)
		os.Exit(1)
	}
}

func run() error {
	var ids identityFlags
	flag.Var(&ids, "identity", "agent identity NAME=USERNAME[;GROUP,GROUP...] (repeatable)")
	dataDir := flag.String("data-dir", "", "data directory (default: a new temp dir, removed on exit)")
	authzConfig := flag.String("authorization-config", "", "AuthorizationConfiguration file (default: --authorization-mode=RBAC)")
	auditPolicy := flag.String("audit-policy", "", "audit policy file")
	auditWebhook := flag.String("audit-webhook-config", "", "audit webhook kubeconfig file (needs --audit-policy)")
	watchStdin := flag.Bool("watch-stdin", false, "also stop when stdin closes, so a crashed parent leaves no server behind")
	verbosity := flag.Int("v", -1, "kube-apiserver klog verbosity, and etcd info logs; -1 shows only errors")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: kube-harness [flags] [-- extra kube-apiserver flags]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *auditWebhook != "" && *auditPolicy == "" {
		return errors.New("--audit-webhook-config needs --audit-policy")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process the default way
	}()
	if *watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	dir := *dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "kube-harness-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	pki := filepath.Join(dir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return err
	}

	tokens := map[string]string{"admin": randomToken()}
	for _, id := range ids {
		tokens[id.name] = randomToken()
	}
	aggregatorToken := randomToken()
	tokenFile := filepath.Join(dir, "tokens.csv")
	if err := writeTokenFile(tokenFile, tokens, ids, aggregatorToken); err != nil {
		return err
	}
	saKey := filepath.Join(pki, "sa.key")
	keyPEM, err := keyutil.MakeEllipticPrivateKeyPEM()
	if err != nil {
		return err
	}
	if err := os.WriteFile(saKey, keyPEM, 0o600); err != nil {
		return err
	}

	// Our own listener: no race for a free port, and we know the URL up front.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	serverURL := "https://" + ln.Addr().String()
	etcdClientURL, err := freeURL()
	if err != nil {
		return err
	}
	etcdPeerURL, err := freeURL()
	if err != nil {
		return err
	}

	args := []string{
		"--etcd-servers=" + etcdClientURL.String(),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// Endpoints may not point at loopback, and nothing routes to the service anyway.
		"--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--cert-dir=" + pki,
		"--token-auth-file=" + tokenFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + saKey,
		"--service-account-signing-key-file=" + saKey,
	}
	if *authzConfig != "" {
		args = append(args, "--authorization-config="+*authzConfig)
	} else {
		args = append(args, "--authorization-mode=RBAC")
	}
	if *auditPolicy != "" {
		args = append(args, "--audit-policy-file="+*auditPolicy)
	}
	if *auditWebhook != "" {
		args = append(args, "--audit-webhook-config-file="+*auditWebhook,
			"--audit-webhook-mode=batch", "--audit-webhook-batch-max-wait=250ms")
	}
	args = append(args, flag.Args()...)

	// Flags first: that also sets up logging, before etcd and grpc start to log.
	opts, err := apiserverOptions(args, ln, *verbosity)
	if err != nil {
		return fmt.Errorf("kube-apiserver options: %w", err)
	}

	etcdLog := zap.NewAtomicLevelAt(zap.ErrorLevel)
	if *verbosity >= 0 {
		etcdLog.SetLevel(zap.InfoLevel)
	}
	etcd, err := startEtcd(filepath.Join(dir, "etcd"), etcdClientURL, etcdPeerURL, etcdLog)
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer func() {
		if *verbosity < 0 {
			etcdLog.SetLevel(zap.FatalLevel) // Close logs each closed listener as an error
		}
		etcd.Close()
	}()

	completed, err := opts.Complete(ctx)
	if err != nil {
		return fmt.Errorf("kube-apiserver options: %w", err)
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return fmt.Errorf("kube-apiserver options: %w", utilerrors.NewAggregate(errs))
	}

	// Complete wrote the self-signed serving cert (with its CA) into the cert dir.
	ca, err := os.ReadFile(filepath.Join(pki, "apiserver.crt"))
	if err != nil {
		return err
	}
	kubeconfigs := map[string]string{}
	for name, token := range tokens {
		path := filepath.Join(dir, "kubeconfig-"+name)
		if err := writeKubeconfig(path, serverURL, ca, name, token); err != nil {
			return err
		}
		kubeconfigs[name] = path
	}

	apiDone := make(chan error, 1)
	go func() { apiDone <- app.Run(ctx, completed) }()

	if err := waitReady(ctx, kubeconfigs["admin"], apiDone); err != nil {
		return err
	}
	aggCfg := &rest.Config{Host: serverURL, BearerToken: aggregatorToken, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
	if err := aggregateClusterRoles(ctx, aggCfg); err != nil {
		return fmt.Errorf("clusterrole aggregation: %w", err)
	}
	ready, _ := json.Marshal(map[string]any{"ready": true, "url": serverURL, "dataDir": dir, "kubeconfigs": kubeconfigs})
	fmt.Println(string(ready))

	select {
	case err := <-apiDone:
		return fmt.Errorf("kube-apiserver stopped: %v", err)
	case <-ctx.Done():
	}
	select {
	case err := <-apiDone:
		if err != nil {
			return fmt.Errorf("kube-apiserver shutdown: %w", err)
		}
	case <-time.After(20 * time.Second):
		fmt.Fprintln(os.Stderr, "kube-harness: kube-apiserver did not stop within 20s, closing etcd anyway")
	}
	return nil
}

// apiserverOptions does what app.NewAPIServerCommand does before Complete,
// minus its own signal handling (which may only be set up once per process)
// and with info and warning logs dropped unless asked for.
func apiserverOptions(args []string, ln net.Listener, verbosity int) (*options.ServerRunOptions, error) {
	s := options.NewServerRunOptions()
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, f := range s.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	s.SecureServing.Listener = ln
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return nil, err
	}
	rest.SetDefaultWarningHandler(rest.NoWarnings{})

	logOut := io.Writer(os.Stderr)
	if verbosity < 0 {
		logOut = errorsOnly{os.Stderr}
	} else {
		s.Logs.Verbosity = logsapi.VerbosityLevel(verbosity)
	}
	featureGate := s.GenericServerRunOptions.ComponentGlobalsRegistry.FeatureGateFor(basecompatibility.DefaultKubeComponent)
	if err := logsapi.ValidateAndApplyWithOptions(s.Logs, &logsapi.LoggingOptions{ErrorStream: logOut, InfoStream: logOut}, featureGate); err != nil {
		return nil, err
	}
	return s, nil
}

// errorsOnly filters klog text output: each write is one entry, led by its
// severity letter. Start-up alone logs ~100 harmless warnings.
type errorsOnly struct{ w io.Writer }

func (d errorsOnly) Write(p []byte) (int, error) {
	if len(p) > 0 && (p[0] == 'I' || p[0] == 'W') {
		return len(p), nil
	}
	return d.w.Write(p)
}

func startEtcd(dir string, clientURL, peerURL url.URL, level zap.AtomicLevel) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{clientURL}, []url.URL{clientURL}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peerURL}, []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.UnsafeNoFsync = true // test data is disposable; fsync dominates start-up on slow disks
	zc := zap.NewProductionConfig()
	zc.Level = level
	logger, err := zc.Build()
	if err != nil {
		return nil, err
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(logger)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(30 * time.Second):
		e.Close()
		return nil, errors.New("not ready after 30s")
	}
}

// freeURL asks the kernel for a free port; etcd binds it a moment later.
func freeURL() (url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return url.URL{}, err
	}
	defer l.Close()
	return url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)}, nil
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// aggregateClusterRoles runs the one kube-controller-manager controller RBAC
// depends on: without it the aggregated ClusterRoles view, edit and admin stay
// empty. It returns once view has its rules, so no test races it.
func aggregateClusterRoles(ctx context.Context, cfg *rest.Config) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(cs, 0)
	c := clusterroleaggregation.NewClusterRoleAggregation(factory.Rbac().V1().ClusterRoles(), cs.RbacV1())
	factory.Start(ctx.Done())
	go c.Run(ctx, 1)
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		view, err := cs.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
		return err == nil && len(view.Rules) > 0, nil
	})
}

// writeTokenFile writes the --token-auth-file CSV: token,user,uid,"group1,group2".
// The aggregation controller gets the service-account identity that the
// bootstrap RBAC policy already binds, as in a real cluster.
func writeTokenFile(path string, tokens map[string]string, ids []identity, aggregatorToken string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{tokens["admin"], "admin", "admin", "system:masters"})
	for _, id := range ids {
		_ = w.Write([]string{tokens[id.name], id.username, id.name, strings.Join(id.groups, ",")})
	}
	_ = w.Write([]string{aggregatorToken, "system:serviceaccount:kube-system:clusterrole-aggregation-controller",
		"clusterrole-aggregation-controller", "system:serviceaccounts,system:serviceaccounts:kube-system"})
	w.Flush()
	return errors.Join(w.Error(), f.Close())
}

func writeKubeconfig(path, server string, ca []byte, user, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["harness"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["harness"] = &clientcmdapi.Context{Cluster: "harness", AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = "harness"
	return clientcmd.WriteToFile(*cfg, path)
}

// waitReady polls /readyz as admin, which also proves the admin kubeconfig works.
func waitReady(ctx context.Context, kubeconfig string, apiDone <-chan error) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	client.Timeout = 2 * time.Second
	deadline := time.After(60 * time.Second)
	last := "no answer yet"
	for {
		resp, err := client.Get(cfg.Host + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		select {
		case err := <-apiDone:
			return fmt.Errorf("kube-apiserver exited before ready: %v", err)
		case <-ctx.Done():
			return errors.New("interrupted before ready")
		case <-deadline:
			return fmt.Errorf("kube-apiserver not ready after 60s: %s", last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
