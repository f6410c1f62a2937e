//go:build ignore

// Imagecheck holds the checks of deploy/docker/check.sh that need more than a shell: it runs
// without a Docker engine, so it reads the Dockerfile, the .dockerignore rules and the binary
// itself. Standard library only.
//
//	go run deploy/docker/imagecheck.go elf FILE
//	    FILE is an ELF executable without an interpreter or a dynamic section (statically linked)
//	go run deploy/docker/imagecheck.go dockerfile DOCKERFILE GOMOD
//	    the Dockerfile's stages, base images, user, copies, build script and runtime settings
//	go run deploy/docker/imagecheck.go context ROOT DEST
//	    copy ROOT to DEST leaving out what ROOT/.dockerignore excludes, as Docker does when it
//	    sends the build context
//
// Each problem is printed on stderr and the exit status is 1; 2 for usage errors.
package main

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var problems []string
	var err error
	switch args := os.Args[2:]; os.Args[1] {
	case "elf":
		if len(args) != 1 {
			usage()
		}
		problems, err = checkELF(args[0])
	case "dockerfile":
		if len(args) != 2 {
			usage()
		}
		problems, err = checkDockerfile(args[0], args[1])
	case "context":
		if len(args) != 2 {
			usage()
		}
		err = copyContext(args[0], args[1])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "imagecheck %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	for _, p := range problems {
		fmt.Fprintf(os.Stderr, "imagecheck %s: %s\n", os.Args[1], p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: imagecheck elf FILE | dockerfile DOCKERFILE GOMOD | context ROOT DEST")
	os.Exit(2)
}

// checkELF reports what would make the binary need anything from the image besides itself.
func checkELF(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var problems []string
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			problems = append(problems, "has a PT_INTERP program header: dynamically linked, needs a loader")
		case elf.PT_DYNAMIC:
			problems = append(problems, "has a PT_DYNAMIC program header: dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		problems = append(problems, fmt.Sprintf("needs shared libraries %v", libs))
	}
	if f.Type != elf.ET_EXEC {
		problems = append(problems, fmt.Sprintf("ELF type %v, want %v", f.Type, elf.ET_EXEC))
	}
	if len(problems) == 0 {
		fmt.Printf("elf: %s: %v %v, no interpreter, no dynamic section, no shared libraries\n", path, f.Machine, f.Type)
	}
	return problems, nil
}

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case
	args string
}

// stage is one FROM and the instructions under it.
type stage struct {
	index int
	name  string
	base  string
	instr []instruction
}

func parseDockerfile(path string) (directives map[string]string, stages []*stage, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	directives = map[string]string{}
	sc := bufio.NewScanner(f)
	var cur strings.Builder
	start, n := 0, 0
	leading := true // parser directives come before any other line
	directive := regexp.MustCompile(`^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$`)
	var instrs []instruction
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			if m := directive.FindStringSubmatch(line); leading && m != nil {
				directives[strings.ToLower(m[1])] = m[2]
			} else {
				leading = false
			}
			continue
		}
		leading = false
		if line == "" && cur.Len() == 0 {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		full := strings.TrimSpace(cur.String())
		cur.Reset()
		if full == "" {
			continue
		}
		cmd, args, _ := strings.Cut(full, " ")
		instrs = append(instrs, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if cur.Len() > 0 {
		return nil, nil, fmt.Errorf("%s ends inside a continued line", path)
	}
	for _, in := range instrs {
		if in.cmd == "FROM" {
			fields := flagless(in.args)
			if len(fields) == 0 {
				return nil, nil, fmt.Errorf("line %d: FROM without an image", in.line)
			}
			s := &stage{index: len(stages), base: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				return nil, nil, fmt.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
			}
			continue
		}
		s := stages[len(stages)-1]
		s.instr = append(s.instr, in)
	}
	if len(stages) == 0 {
		return nil, nil, errors.New("no FROM")
	}
	return directives, stages, nil
}

// flagless splits an instruction's arguments and drops its --flags.
func flagless(args string) []string {
	var out []string
	for _, f := range strings.Fields(args) {
		if !strings.HasPrefix(f, "--") {
			out = append(out, f)
		}
	}
	return out
}

func flagValue(args, name string) (string, bool) {
	for _, f := range strings.Fields(args) {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func checkDockerfile(path, gomod string) ([]string, error) {
	directives, stages, err := parseDockerfile(path)
	if err != nil {
		return nil, err
	}
	goVersion, err := goDirective(gomod)
	if err != nil {
		return nil, err
	}
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	byName := map[string]*stage{}
	for _, s := range stages {
		if s.name != "" {
			byName[strings.ToLower(s.name)] = s
		}
	}
	final := stages[len(stages)-1]
	if len(stages) < 2 {
		bad("one stage: want a build stage and a separate final stage")
	}

	// The build stage: the Go of go.mod, and build.sh.
	var builders []*stage
	usesMount := false
	for _, s := range stages {
		for _, in := range s.instr {
			if in.cmd == "RUN" && strings.Contains(in.args, "--mount=") {
				usesMount = true
			}
			if in.cmd == "RUN" && regexp.MustCompile(`(^|\s)(bash|sh)\s+(\./)?deploy/docker/build\.sh\s+\S+`).MatchString(in.args) {
				builders = append(builders, s)
			}
		}
	}
	if usesMount && !strings.HasPrefix(directives["syntax"], "docker/dockerfile:1") {
		bad("RUN --mount needs the parser directive '# syntax=docker/dockerfile:1' on the first line")
	}
	if len(builders) != 1 {
		bad("want exactly one stage running 'bash deploy/docker/build.sh OUTDIR', found %d", len(builders))
	}
	for _, b := range builders {
		if b == final {
			bad("the final stage builds the binary: build in a separate stage")
		}
		img, tag, _ := strings.Cut(b.base, ":")
		if img != "golang" && img != "docker.io/library/golang" {
			bad("build stage base %q: want the official golang image", b.base)
		}
		want := majorMinor(goVersion)
		if tagVer, _, _ := strings.Cut(tag, "-"); majorMinor(tagVer) != want {
			bad("build stage base %q: its Go %q is not go.mod's go %s (want golang:%s-...)", b.base, tagVer, goVersion, want)
		}
		copiesMod, copiesAll := false, false
		for _, in := range b.instr {
			if in.cmd != "COPY" {
				continue
			}
			f := flagless(in.args)
			if len(f) >= 3 && f[0] == "go.mod" && f[1] == "go.sum" {
				copiesMod = true
			}
			if len(f) == 2 && f[0] == "." {
				copiesAll = true
			}
		}
		if !copiesMod || !copiesAll {
			bad("build stage: want 'COPY go.mod go.sum ./' (module download cached apart) and 'COPY . .'")
		}
	}

	// The final stage: a base with nothing to run, a numeric non-root user, no shell commands.
	switch {
	case final.base == "scratch":
	case regexp.MustCompile(`^gcr\.io/distroless/static(-debian\d+)?:nonroot(-[a-z0-9]+)?(@sha256:[0-9a-f]{64})?$`).MatchString(final.base):
	default:
		bad("final stage base %q: want gcr.io/distroless/static-debian12:nonroot or scratch", final.base)
	}
	var user, entrypoint, expose string
	env := map[string]string{}
	labels := map[string]string{}
	var copies []string
	for _, in := range final.instr {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "EXPOSE":
			expose = in.args
		case "RUN":
			bad("line %d: RUN in the final stage: the image has no shell", in.line)
		case "ENV":
			for k, v := range keyValues(in.args) {
				env[k] = v
			}
		case "LABEL":
			for k, v := range keyValues(in.args) {
				labels[k] = v
			}
		case "COPY", "ADD":
			f := flagless(in.args)
			if len(f) >= 2 {
				copies = append(copies, f[len(f)-1])
			}
		}
	}
	uid, gid, hasGID := strings.Cut(user, ":")
	switch u, err := strconv.Atoi(uid); {
	case user == "":
		bad("final stage has no USER: set a numeric non-root one (USER 65532:65532)")
	case err != nil:
		bad("USER %q: want a numeric uid, so that runAsNonRoot can check it", user)
	case u == 0:
		bad("USER %q is root", user)
	}
	if hasGID {
		if g, err := strconv.Atoi(gid); err != nil || g == 0 {
			bad("USER %q: want a numeric non-root gid", user)
		}
	}
	var ep []string
	if err := json.Unmarshal([]byte(entrypoint), &ep); err != nil || len(ep) == 0 {
		bad("ENTRYPOINT %q: want the exec form, [\"/casus\"]: there is no shell", entrypoint)
	} else {
		found := false
		for _, c := range copies {
			if c == ep[0] || strings.TrimSuffix(c, "/")+"/"+filepath.Base(ep[0]) == ep[0] {
				found = true
			}
		}
		if !found {
			bad("ENTRYPOINT runs %s, which no COPY of the final stage puts there", ep[0])
		}
	}
	if env["CASUS_METRICS_ADDR"] != "0.0.0.0:9464" {
		bad("ENV CASUS_METRICS_ADDR=%q: want 0.0.0.0:9464, reachable from outside the container", env["CASUS_METRICS_ADDR"])
	}
	if !strings.Contains(" "+expose+" ", " 9464 ") && !strings.Contains(" "+expose+" ", " 9464/tcp ") {
		bad("EXPOSE %q: want 9464", expose)
	}
	for _, l := range []string{"title", "version", "revision", "source"} {
		if labels["org.opencontainers.image."+l] == "" {
			bad("no LABEL org.opencontainers.image.%s", l)
		}
	}
	if !strings.Contains(labels["org.opencontainers.image.version"], "$VERSION") && !strings.Contains(labels["org.opencontainers.image.version"], "${VERSION}") {
		bad("LABEL org.opencontainers.image.version should come from ARG VERSION")
	}

	// Every COPY --from names an earlier stage, and the final one copies from the builder.
	copiesFromBuilder := false
	for _, s := range stages {
		for _, in := range s.instr {
			from, ok := flagValue(in.args, "from")
			if in.cmd != "COPY" || !ok {
				continue
			}
			src, ok := byName[strings.ToLower(from)]
			if !ok {
				if i, err := strconv.Atoi(from); err == nil && i >= 0 && i < len(stages) {
					src = stages[i]
				}
			}
			switch {
			case src == nil:
				bad("line %d: COPY --from=%s names no stage of this Dockerfile", in.line, from)
			case src.index >= s.index:
				bad("line %d: COPY --from=%s names a later stage or its own", in.line, from)
			}
			if s == final && src != nil && len(builders) == 1 && src == builders[0] {
				copiesFromBuilder = true
			}
		}
	}
	if len(builders) == 1 && !copiesFromBuilder {
		bad("the final stage copies nothing from the stage that runs build.sh")
	}
	if len(problems) == 0 {
		names := make([]string, len(stages))
		for i, s := range stages {
			names[i] = s.base
			if s.name != "" {
				names[i] += " AS " + s.name
			}
		}
		fmt.Printf("dockerfile: %s: stages [%s]; go.mod go %s; final USER %s, ENTRYPOINT %s, EXPOSE %s; every COPY --from names an earlier stage\n",
			path, strings.Join(names, ", "), goVersion, user, entrypoint, expose)
	}
	return problems, nil
}

// keyValues reads ENV and LABEL arguments in the key=value form, values optionally quoted.
func keyValues(args string) map[string]string {
	out := map[string]string{}
	re := regexp.MustCompile(`([A-Za-z0-9_.\-]+)=("(?:[^"\\]|\\.)*"|\S*)`)
	for _, m := range re.FindAllStringSubmatch(args, -1) {
		v := m[2]
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		out[m[1]] = v
	}
	return out
}

func goDirective(gomod string) (string, error) {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^go\s+(\d+\.\d+(?:\.\d+)?)\s*$`).FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("%s has no go directive", gomod)
	}
	return string(m[1]), nil
}

func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// ignoreRule is one line of .dockerignore, compiled as Docker's pattern matcher
// (github.com/moby/patternmatcher) does: '*' and '?' stay inside one path element, '**' spans
// any number of them, and a rule that matches a directory matches everything under it.
type ignoreRule struct {
	text    string
	exclude bool // false for '!' exceptions
	re      *regexp.Regexp
}

func readIgnore(path string) ([]ignoreRule, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rules []ignoreRule
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{text: line, exclude: true}
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			r.exclude = false
			line = strings.TrimSpace(rest)
		}
		line = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(line)), "/")
		re, err := compilePattern(line)
		if err != nil {
			return nil, fmt.Errorf("%s: pattern %q: %w", path, r.text, err)
		}
		r.re = re
		rules = append(rules, r)
	}
	return rules, nil
}

func compilePattern(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '*' && i+1 < len(p) && p[i+1] == '*':
			i++
			if i+1 < len(p) && p[i+1] == '/' {
				i++
			}
			if i+1 == len(p) {
				b.WriteString(".*")
			} else {
				b.WriteString("(.*/)?")
			}
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '\\' && i+1 < len(p):
			i++
			b.WriteString(regexp.QuoteMeta(string(p[i])))
		case c == '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				return nil, errors.New("unterminated [")
			}
			class := p[i : i+j+1]
			if strings.HasPrefix(class, "[!") {
				class = "[^" + class[2:]
			}
			b.WriteString(class)
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// excluded says whether Docker leaves rel (slash-separated, relative to the context root) out
// of the context: the last rule matching it or one of its parent directories decides.
func excluded(rules []ignoreRule, rel string) bool {
	out := false
	for _, r := range rules {
		if r.exclude == out {
			continue // cannot change the outcome
		}
		if matchesOrParent(r.re, rel) {
			out = r.exclude
		}
	}
	return out
}

func matchesOrParent(re *regexp.Regexp, rel string) bool {
	if re.MatchString(rel) {
		return true
	}
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && re.MatchString(rel[:i]) {
			return true
		}
	}
	return false
}

// copyContext copies the regular files and symbolic links of root that the .dockerignore
// rules keep into dest, and prints the tops of the trees left out.
func copyContext(root, dest string) error {
	rules, err := readIgnore(filepath.Join(root, ".dockerignore"))
	if err != nil {
		return err
	}
	var files, bytes int64
	left := map[string][]string{} // rule text: tops of the trees it left out
	entered := map[string]bool{}  // excluded directories walked for their exceptions
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if excluded(rules, rel) {
			if d.IsDir() && mayHoldException(rules, rel) {
				entered[rel] = true
				return nil
			}
			if parent := filepath.ToSlash(filepath.Dir(rel)); parent == "." || entered[parent] || !excluded(rules, parent) {
				name := rel
				if d.IsDir() {
					name += "/"
				}
				r := deciding(rules, rel)
				left[r] = append(left[r], name)
			}
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dest, filepath.FromSlash(rel))
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			files++
			bytes += info.Size()
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			return copyFile(path, target, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("context: %d files, %d bytes kept\n", files, bytes)
	for _, r := range rules {
		if names := left[r.text]; len(names) > 4 {
			fmt.Printf("  %-24s left out %d entries (%s, ...)\n", r.text, len(names), strings.Join(names[:3], ", "))
		} else if len(names) > 0 {
			fmt.Printf("  %-24s left out %s\n", r.text, strings.Join(names, ", "))
		}
	}
	return nil
}

// deciding is the text of the last rule that matches rel, the one that decides.
func deciding(rules []ignoreRule, rel string) string {
	text := ""
	for _, r := range rules {
		if matchesOrParent(r.re, rel) {
			text = r.text
		}
	}
	return text
}

// mayHoldException says whether a '!' rule could bring back something under the excluded
// directory dir, so that the walk has to look inside it (Docker does the same).
func mayHoldException(rules []ignoreRule, dir string) bool {
	for _, r := range rules {
		if r.exclude {
			continue
		}
		p := strings.TrimPrefix(filepath.ToSlash(filepath.Clean(strings.TrimSpace(strings.TrimPrefix(r.text, "!")))), "/")
		if strings.ContainsAny(p, "*?[\\") || strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
