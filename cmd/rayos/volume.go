package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rayos/engine/volume"
	"github.com/rayos/engine/volume/ingest"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// Bounds of rayos volume query -k.
const (
	defaultK  = 5
	maxQueryK = 1000
)

// addBatch is how many passages are embedded and added per step of the
// progress bar.
const addBatch = 128

func newVolumeCmd() *cobra.Command {
	var data string
	cmd := &cobra.Command{
		Use:   "volume",
		Short: "Add files to the Volume, query it, show its stats, rebuild its index, remove passages",
		Long: `The Volume is RayOS's store of knowledge: passages of your files, each with
a vector, searched by similarity. It lives in RAYOS_DATA/volume/ (volume.rvol,
with the last good copy volume.rvol.prev), and rayos boot loads it for
retrieval when the policy's [volume] enabled is true (the default).

Writers (add, remove, rebuild) take the Volume's lock: a second writer waits
for the first to finish, so two never interleave and neither loses the
other's passages. Queries and stats never wait. A writer changes nothing
until its last step, an atomic save: stopped or failing before, it leaves
the Volume as it was.`,
		Example: `  rayos volume add docs/ notes.md        # chunk and add a folder and a file
  rayos volume query "how does boot recover" -k 3
  rayos volume query "policy cpus" --json | jq '.hits[0].file'
  rayos volume stats
  rayos volume remove --file docs/old.md   # every passage of that file
  rayos volume rebuild                     # compact and rebuild the index`,
	}
	cmd.PersistentFlags().StringVar(&data, "data", "./rayos-data", "RAYOS_DATA (created by the first rayos boot)")
	dir := func() string { return filepath.Join(data, "volume") }
	cmd.AddCommand(newVolumeAddCmd(&data, dir), newVolumeQueryCmd(dir), newVolumeStatsCmd(dir),
		newVolumeRebuildCmd(&data, dir), newVolumeRemoveCmd(&data, dir))
	return cmd
}

func newVolumeAddCmd(data *string, dir func() string) *cobra.Command {
	var o ingest.Options
	var maxFile int64
	cmd := &cobra.Command{
		Use:   "add FILE|DIR…",
		Short: "Chunk files and folders and add their passages to the Volume",
		Long: `Walks each FILE or DIR (folders in name order, symlinks followed), cuts every
text file into passages of at most --chunk-size bytes that overlap by
--overlap bytes, embeds them and adds them. Markdown is cut at its headings
(each passage keeps its heading path, "Intro > Setup"); source files end
their passages between declarations where they can (each keeps the
declaration as heading); other text at paragraph breaks.

Each passage remembers its file (as you named it: "docs/boot.md"), its byte
offset and its heading. Adding a file that is already in the Volume replaces
its passages. Hidden files and folders, binary and non-UTF-8 files, files
over --max-file-size, special files and symlink loops are skipped, each
named on stderr with the reason. A path that does not exist or cannot be
read stops the add before anything changes.

On a terminal a progress bar shows the embedding.`,
		Example: `  rayos volume add docs/
  rayos volume add README.md docs/ cmd/ --chunk-size 800 --overlap 100
  RAYOS_DATA=/var/rayos rayos volume add ~/notes`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("rayos volume add needs at least one FILE or DIR")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.MaxFileSize = maxFile
			switch {
			case !cmd.Flags().Changed("overlap"):
				o.Overlap = 0 // the default, capped for small chunks
			case o.Overlap < 0:
				return usageError{fmt.Errorf("--overlap %d: must not be negative", o.Overlap)}
			case o.Overlap == 0:
				o.Overlap = ingest.NoOverlap
			}
			if maxFile <= 0 {
				return usageError{fmt.Errorf("--max-file-size %d: must be positive", maxFile)}
			}
			if err := o.Check(); err != nil {
				return usageError{fmt.Errorf("--chunk-size/--overlap/--max-file-size: %w", err)}
			}
			return volumeAdd(cmd, *data, dir(), args, o)
		},
	}
	cmd.Flags().IntVar(&o.Size, "chunk-size", ingest.DefaultSize, fmt.Sprintf("most bytes per passage (%d to %d)", ingest.MinSize, ingest.MaxSize))
	cmd.Flags().IntVar(&o.Overlap, "overlap", ingest.DefaultOverlap, "bytes a passage repeats of the one before it in the same section (0: none; less than half the chunk size)")
	cmd.Flags().Int64Var(&maxFile, "max-file-size", ingest.DefaultMaxFileSize, "skip files larger than this many bytes")
	return cmd
}

func volumeAdd(cmd *cobra.Command, data, dir string, paths []string, o ingest.Options) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if err := checkVolumeLayout(data); err != nil {
		return err
	}
	start := time.Now()
	files, skips, err := ingest.Collect(paths, o)
	if err != nil {
		return fmt.Errorf("%w; nothing added", err)
	}
	for _, s := range skips {
		fmt.Fprintf(stderr, "skipped %s\n", s)
	}
	if len(files) == 0 {
		return fmt.Errorf("nothing to add: every file was skipped (%d); nothing changed", len(skips))
	}
	unlock, err := lockVolume(dir, stderr)
	if err != nil {
		return err
	}
	defer unlock()
	v, err := openForWrite(dir)
	if err != nil {
		return err
	}
	defer v.Close()

	// Re-adding a file replaces its passages.
	names := map[string]bool{}
	var items []volume.Item
	for _, f := range files {
		names[f.Path] = true
		for _, c := range f.Chunks {
			items = append(items, volume.Item{Text: c.Text, Meta: map[string]string{
				"file": c.File, "offset": strconv.Itoa(c.Offset), "heading": c.Heading,
			}})
		}
	}
	var old []uint64
	if err := v.Each(func(it volume.Item) bool {
		if names[it.Meta["file"]] {
			old = append(old, it.ID)
		}
		return true
	}); err != nil {
		return err
	}
	if _, err := v.Remove(old); err != nil {
		return err
	}
	bar := newProgress(stderr, len(items))
	for i := 0; i < len(items); i += addBatch {
		batch := items[i:min(i+addBatch, len(items))]
		if _, err := v.Add(batch); err != nil {
			return fmt.Errorf("%w; nothing changed", err)
		}
		if bar != nil {
			bar.Add(len(batch))
		}
	}
	if bar != nil {
		bar.Finish()
	}
	if err := v.Save(); err != nil {
		return err
	}
	st := v.Stats()
	replaced := ""
	if len(old) > 0 {
		replaced = fmt.Sprintf(" (replacing %d earlier passages)", len(old))
	}
	fmt.Fprintf(stdout, "added %d passages from %d files%s, skipped %d, in %s; the Volume holds %d passages (index %s, dim %d)\n",
		len(items), len(files), replaced, len(skips), time.Since(start).Round(time.Millisecond), st.Items, st.Index, st.Dim)
	return nil
}

// newProgress is a progress bar on w for total steps, or nil when w is not
// a terminal (a pipe or a file gets the summary line only).
func newProgress(w io.Writer, total int) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	info, err := f.Stat()
	if err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("embedding passages"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
}

func newVolumeQueryCmd(dir func() string) *cobra.Command {
	var k int
	var exact, asJSON bool
	cmd := &cobra.Command{
		Use:   "query TEXT",
		Short: "Find the passages most like TEXT",
		Long: `Embeds TEXT and prints the -k passages most similar to it, best first: each
with its score (cosine similarity, 1 is identical), its file, byte offset and
heading, and the passage itself (whitespace folded, cut to a few lines; --json
gives it whole). Small Volumes are always searched exactly; large ones through
the HNSW index, or exactly with --exact.

A damaged volume.rvol is reported on stderr and the last good copy answers.`,
		Example: `  rayos volume query "how does the boot recover from a bad policy"
  rayos volume query "cpus" -k 10 --exact
  rayos volume query "markers" --json | jq -r '.hits[] | "\(.score) \(.file)"'`,
		Args: exactArgs(1, "the text to search for"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if k < 1 || k > maxQueryK {
				return usageError{fmt.Errorf("-k %d: want 1 to %d", k, maxQueryK)}
			}
			text := args[0]
			if strings.TrimSpace(text) == "" {
				return usageError{errors.New("the query text is empty")}
			}
			v, err := openForRead(dir(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer v.Close()
			st := v.Stats()
			if st.Items == 0 {
				return fmt.Errorf("the Volume in %s is empty: add passages with `rayos volume add FILE|DIR`", dir())
			}
			hits, err := v.Query(text, k, exact)
			if err != nil {
				return err
			}
			index := st.Index
			if exact {
				index = "exact"
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), queryJSON(text, index, hits))
			}
			out := cmd.OutOrStdout()
			for i, h := range hits {
				heading := h.Meta["heading"]
				if heading != "" {
					heading = "  [" + heading + "]"
				}
				fmt.Fprintf(out, "%d. %.3f  %s @%s%s  (id %d)\n", i+1, h.Score, h.Meta["file"], h.Meta["offset"], heading, h.ID)
				fmt.Fprintf(out, "   %s\n", trimPassage(h.Text, 320))
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&k, "k", "k", defaultK, fmt.Sprintf("how many passages (1 to %d)", maxQueryK))
	cmd.Flags().BoolVar(&exact, "exact", false, "scan every passage instead of using the index")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON document (docs/volume.md)")
	return cmd
}

// VolumeHitJSON is one hit of rayos volume query --json (field names are
// part of the interface; docs/volume.md).
type VolumeHitJSON struct {
	ID      uint64  `json:"id"`
	Score   float32 `json:"score"`
	File    string  `json:"file"`
	Offset  int     `json:"offset"`
	Heading string  `json:"heading"`
	Text    string  `json:"text"`
}

// VolumeQueryJSON is rayos volume query --json.
type VolumeQueryJSON struct {
	Query string          `json:"query"`
	Index string          `json:"index"`
	Hits  []VolumeHitJSON `json:"hits"`
}

func queryJSON(text, index string, hits []volume.Hit) VolumeQueryJSON {
	doc := VolumeQueryJSON{Query: text, Index: index, Hits: []VolumeHitJSON{}}
	for _, h := range hits {
		off, _ := strconv.Atoi(h.Meta["offset"])
		doc.Hits = append(doc.Hits, VolumeHitJSON{ID: h.ID, Score: h.Score, File: h.Meta["file"], Offset: off, Heading: h.Meta["heading"], Text: h.Text})
	}
	return doc
}

// trimPassage folds whitespace runs to one space and cuts to at most max
// bytes on a rune boundary, marking the cut.
func trimPassage(text string, max int) string {
	s := strings.Join(strings.Fields(text), " ")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

func newVolumeStatsCmd(dir func() string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show the Volume's size, index and file",
		Example: `  rayos volume stats
  rayos volume stats --json | jq .items`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := openForRead(dir(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer v.Close()
			doc := statsJSON(v)
			if asJSON {
				return printJSON(cmd.OutOrStdout(), doc)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "path       %s\n", doc.Path)
			fmt.Fprintf(out, "passages   %d (from %d files; %d removed, not yet compacted)\n", doc.Items, doc.Files, doc.Removed)
			fmt.Fprintf(out, "embedder   %s (dim %d)\n", doc.Embedder, doc.Dim)
			fmt.Fprintf(out, "index      %s (layers %d, edges %d, M %d, ef_search %d; exact below %d passages)\n", doc.Index, doc.Layers, doc.Edges, doc.M, doc.EfSearch, doc.ExactBelow)
			fmt.Fprintf(out, "memory     %d bytes (estimate)\n", doc.Bytes)
			saved := "never"
			if doc.LastSave != "" {
				saved = doc.LastSave
			}
			fmt.Fprintf(out, "file       %d bytes, last saved %s\n", doc.FileSize, saved)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON document (docs/volume.md)")
	return cmd
}

// VolumeStatsJSON is rayos volume stats --json.
type VolumeStatsJSON struct {
	Path       string `json:"path"`
	Items      int    `json:"items"`
	Files      int    `json:"files"`
	Removed    int    `json:"removed"`
	Dim        int    `json:"dim"`
	Embedder   string `json:"embedder"`
	Index      string `json:"index"`
	Layers     int    `json:"layers"`
	Edges      int    `json:"edges"`
	M          int    `json:"m"`
	EfSearch   int    `json:"ef_search"`
	ExactBelow int    `json:"exact_below"`
	Bytes      int64  `json:"bytes"`
	FileSize   int64  `json:"file_size"`
	// LastSave is RFC 3339, "" when never saved.
	LastSave string `json:"last_save"`
}

func statsJSON(v *volume.Volume) VolumeStatsJSON {
	st := v.Stats()
	files := map[string]bool{}
	v.Each(func(it volume.Item) bool { files[it.Meta["file"]] = true; return true })
	doc := VolumeStatsJSON{Path: st.Path, Items: st.Items, Files: len(files), Removed: st.Removed, Dim: st.Dim, Embedder: st.Embedder,
		Index: st.Index, Layers: st.Layers, Edges: st.Edges, M: st.M, EfSearch: st.EfSearch, ExactBelow: st.ExactBelow, Bytes: st.Bytes, FileSize: st.FileSize}
	if !st.LastSave.IsZero() {
		doc.LastSave = st.LastSave.Format(time.RFC3339)
	}
	return doc
}

func newVolumeRebuildCmd(data *string, dir func() string) *cobra.Command {
	return &cobra.Command{
		Use:   "rebuild",
		Short: "Compact removed passages away and rebuild the index from the passages",
		Long: `Rebuilds the HNSW index from the passages in ID order with its fixed seed, so
the same passages always give the same index (and the same answers), and
drops removed passages for good. It is also the repair for a damaged
volume.rvol: the last good copy is loaded, saved as the Volume, and the
damaged file kept aside as volume.rvol.corrupt.`,
		Example: "  rayos volume rebuild",
		Args:    exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkVolumeLayout(*data); err != nil {
				return err
			}
			unlock, err := lockVolume(dir(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer unlock()
			v, err := volume.Open(dir(), volume.Options{})
			var rec *volume.RecoveryError
			switch {
			case errors.As(err, &rec):
				fmt.Fprintf(cmd.ErrOrStderr(), "recovering: %v\n", rec)
			case err != nil:
				return err
			}
			defer v.Close()
			start := time.Now()
			if err := v.Rebuild(); err != nil {
				return err
			}
			if err := v.Save(); err != nil {
				return err
			}
			st := v.Stats()
			fmt.Fprintf(cmd.OutOrStdout(), "rebuilt %d passages in %s (index %s, layers %d, edges %d)\n",
				st.Items, time.Since(start).Round(time.Millisecond), st.Index, st.Layers, st.Edges)
			return nil
		},
	}
}

func newVolumeRemoveCmd(data *string, dir func() string) *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "remove ID…|--file PATH",
		Short: "Remove passages by ID, or every passage of a file or folder",
		Long: `Removes the passages with the given IDs (as query prints them), or with
--file every passage whose file is PATH or lies under the folder PATH (as it
was named to add). An ID that is not in the Volume, or a PATH with no
passages, is an error and nothing is removed.`,
		Example: `  rayos volume remove 17 18
  rayos volume remove --file docs/old.md
  rayos volume remove --file docs        # everything added from docs/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 0) == (len(files) == 0) {
				return usageError{errors.New("rayos volume remove takes IDs or --file PATH, one of the two")}
			}
			var ids []uint64
			for _, a := range args {
				id, err := strconv.ParseUint(a, 10, 64)
				if err != nil || id == 0 {
					return usageError{fmt.Errorf("ID %q: want a passage ID (a positive number, as query prints it)", a)}
				}
				ids = append(ids, id)
			}
			for _, f := range files {
				if strings.TrimSpace(f) == "" {
					return usageError{errors.New("--file is empty")}
				}
			}
			if err := checkVolumeLayout(*data); err != nil {
				return err
			}
			unlock, err := lockVolume(dir(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer unlock()
			v, err := openForWrite(dir())
			if err != nil {
				return err
			}
			defer v.Close()
			found := map[uint64]bool{}
			matched := map[string]int{}
			var remove []uint64
			v.Each(func(it volume.Item) bool {
				found[it.ID] = true
				for _, f := range files {
					if underPath(it.Meta["file"], f) {
						matched[f]++
						remove = append(remove, it.ID)
						break
					}
				}
				return true
			})
			var missing []string
			for _, id := range ids {
				if !found[id] {
					missing = append(missing, strconv.FormatUint(id, 10))
				}
			}
			for _, f := range files {
				if matched[f] == 0 {
					missing = append(missing, f)
				}
			}
			if len(missing) > 0 {
				return fmt.Errorf("not in the Volume: %s; nothing removed", strings.Join(missing, ", "))
			}
			remove = append(remove, ids...)
			slices.Sort(remove)
			remove = slices.Compact(remove)
			n, err := v.Remove(remove)
			if err != nil {
				return err
			}
			if err := v.Save(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d passages; the Volume holds %d\n", n, v.Stats().Items)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&files, "file", nil, "remove every passage of this file, or of every file under this folder (repeatable)")
	return cmd
}

// underPath reports whether file is path or lies under the folder path,
// both as named to add (cleaned).
func underPath(file, path string) bool {
	path = filepath.Clean(path)
	return file == path || path == "." || strings.HasPrefix(file, path+string(filepath.Separator))
}

// checkVolumeLayout refuses to write into a folder that is not a complete
// RayOS data folder: a first boot must find its defaults.
func checkVolumeLayout(data string) error {
	if _, err := os.Stat(filepath.Join(data, "layout-version")); err != nil {
		return fmt.Errorf("%s: not a complete RayOS data folder (no layout-version); a `rayos boot --data %s` creates it", data, data)
	}
	return nil
}

// openForRead opens the Volume for a query or stats: a damaged file is
// reported on w and the last good copy answers.
func openForRead(dir string, w io.Writer) (*volume.Volume, error) {
	v, err := volume.Open(dir, volume.Options{})
	var rec *volume.RecoveryError
	if errors.As(err, &rec) {
		fmt.Fprintf(w, "warning: %v (`rayos volume rebuild` keeps that copy)\n", rec)
		return v, nil
	}
	return v, err
}

// openForWrite opens the Volume for add or remove, which refuse a damaged
// file rather than build on a copy the user has not seen.
func openForWrite(dir string) (*volume.Volume, error) {
	v, err := volume.Open(dir, volume.Options{})
	var rec *volume.RecoveryError
	if errors.As(err, &rec) {
		v.Close()
		return nil, fmt.Errorf("%v; nothing changed: `rayos volume rebuild` keeps that copy (setting the damaged file aside), then try again", rec)
	}
	return v, err
}

// lockVolume takes the writers' lock: an exclusive flock on the volume
// folder itself (no lock file; the kernel drops it when the process dies,
// kill -9 included). A second writer waits, saying so on w.
func lockVolume(dir string, w io.Writer) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("volume folder %s: %w", dir, err)
	}
	if err := flockRetry(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("volume folder %s: lock: %w", dir, err)
		}
		fmt.Fprintf(w, "waiting for another writer of %s to finish…\n", dir)
		if err := flockRetry(f, syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("volume folder %s: lock: %w", dir, err)
		}
	}
	return func() { f.Close() }, nil
}

func flockRetry(f *os.File, how int) error {
	for {
		if err := syscall.Flock(int(f.Fd()), how); err != syscall.EINTR {
			return err
		}
	}
}
