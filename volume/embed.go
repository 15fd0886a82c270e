package volume

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Embedder turns text into a vector. Implementations must be
// deterministic (the same text always gives the same vector, on every
// machine) and write a unit-length vector (or all zeros for text with
// nothing to embed) into out, which has Dim() elements. Name identifies
// the embedding function in the Volume's file: a Volume built with one
// embedder cannot be queried with another.
type Embedder interface {
	Name() string
	Dim() int
	Embed(text string, out []float32)
}

// DefaultDim is HashEmbedder's dimension when Options leave the embedder
// unset.
const DefaultDim = 256

const hashEmbedderPrefix = "hash-ngram3-5+words/v1/d"

// HashEmbedder returns the built-in embedder: every word (letters and
// digits, lower-cased) contributes itself and its character 3-, 4- and
// 5-grams (with word boundaries marked, as fastText does), each hashed
// (FNV-1a) to one of dim buckets with a hashed sign, and the sum is
// L2-normalised. It needs no model, so a Volume works offline; texts that
// share words or word pieces land close together. dim must be at least 8.
func HashEmbedder(dim int) Embedder {
	if dim < 8 {
		panic(fmt.Sprintf("volume: HashEmbedder dim %d < 8", dim))
	}
	return hashEmbedder{dim: dim}
}

// embedderByName rebuilds a built-in embedder from the name recorded in a
// Volume's file, so that Open needs no Options to reopen one.
func embedderByName(name string) (Embedder, bool) {
	var dim int
	if !strings.HasPrefix(name, hashEmbedderPrefix) {
		return nil, false
	}
	if _, err := fmt.Sscanf(name[len(hashEmbedderPrefix):], "%d", &dim); err != nil || dim < 8 || dim > maxDim {
		return nil, false
	}
	e := HashEmbedder(dim)
	return e, e.Name() == name
}

type hashEmbedder struct{ dim int }

func (h hashEmbedder) Name() string { return fmt.Sprintf("%s%d", hashEmbedderPrefix, h.dim) }
func (h hashEmbedder) Dim() int     { return h.dim }

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
	// Whole words weigh more than any one of their n-grams: a shared word
	// is stronger evidence than a shared fragment.
	wordWeight  = 2
	ngramWeight = 1
)

func (h hashEmbedder) add(out []float32, hash uint64, w float32) {
	// Mix before taking bits: FNV's low bits are weak for short inputs.
	hash ^= hash >> 33
	hash *= 0xff51afd7ed558ccd
	hash ^= hash >> 33
	i := hash % uint64(h.dim)
	if hash>>63 == 1 {
		w = -w
	}
	out[i] += w
}

// Embed implements Embedder. It allocates nothing for words up to 64
// runes.
func (h hashEmbedder) Embed(text string, out []float32) {
	out = out[:h.dim]
	clear(out)
	var buf [66]rune // '<' + word + '>'
	i := 0
	for i < len(text) {
		// Skip to the next word.
		r, n := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			i += n
			continue
		}
		word := buf[:1]
		word[0] = '<'
		wordHash := uint64(fnvOffset) ^ 0x5157 // words and n-grams hash apart
		for i < len(text) {
			r, n = utf8.DecodeRuneInString(text[i:])
			if !isWordRune(r) {
				break
			}
			r = unicode.ToLower(r)
			wordHash = fnvRune(wordHash, r)
			if len(word) < len(buf)-1 {
				word = append(word, r)
			}
			i += n
		}
		h.add(out, wordHash, wordWeight)
		word = append(word, '>')
		for g := 3; g <= 5; g++ {
			for s := 0; s+g <= len(word); s++ {
				gh := uint64(fnvOffset) ^ uint64(g)
				for _, c := range word[s : s+g] {
					gh = fnvRune(gh, c)
				}
				h.add(out, gh, ngramWeight)
			}
		}
	}
	normalise(out)
}

func fnvRune(h uint64, r rune) uint64 {
	for k := 0; k < 4; k++ {
		h ^= uint64(byte(r >> (8 * k)))
		h *= fnvPrime
	}
	return h
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// normalise scales v to unit length and reports its norm before; a zero
// vector stays zero.
func normalise(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	n := math.Sqrt(s)
	if n == 0 {
		return 0
	}
	inv := float32(1 / n)
	for i := range v {
		v[i] *= inv
	}
	return n
}
