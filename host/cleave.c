/* SPDX-License-Identifier: ISC */
/* The `cleave` command: dispatches `cleave <command> [args]` to one function per
 * command, each in its own host/cmd_*.c file. Commands owned by other parts of the
 * project (tag, live, index, similar) are compiled in only when their file exists
 * (host/meson.build defines CLV_HAVE_CMD_*), so the tool always builds. */
#include <stdio.h>
#include <string.h>

#include "clv_cli.h"

#ifdef CLV_HAVE_CMD_TAG
int clv_cmd_tag(int argc, char **argv);
#endif
#ifdef CLV_HAVE_CMD_LIVE
int clv_cmd_live(int argc, char **argv);
#endif
#ifdef CLV_HAVE_CMD_INDEX
int clv_cmd_index(int argc, char **argv);
#endif
#ifdef CLV_HAVE_CMD_SIMILAR
int clv_cmd_similar(int argc, char **argv);
#endif

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"separate", clv_cmd_separate, "split an audio file into vocals.wav and accompaniment.wav"},
    {"models", clv_cmd_models, "list separators and taggers with latency and rate"},
    {"demo", clv_cmd_demo, "build a demo mixture from Debian-packaged recordings and separate it"},
#ifdef CLV_HAVE_CMD_TAG
    {"tag", clv_cmd_tag, "tag sound events in an audio file"},
#endif
#ifdef CLV_HAVE_CMD_LIVE
    {"live", clv_cmd_live, "separate live audio (JACK or PortAudio)"},
#endif
#ifdef CLV_HAVE_CMD_INDEX
    {"index", clv_cmd_index, "index a folder of audio files"},
#endif
#ifdef CLV_HAVE_CMD_SIMILAR
    {"similar", clv_cmd_similar, "find similar audio in an index"},
#endif
};

#define N_COMMANDS ((int)(sizeof commands / sizeof commands[0]))

static void usage(FILE *f)
{
    fprintf(f, "Usage: cleave <command> [options]\n\nCommands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'cleave <command> --help' describes a command. 'cleave --version' prints the "
               "version.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLV_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        if (argc > 2 && strcmp(cmd, "help") == 0) {
            /* `cleave help separate` == `cleave separate --help` */
            for (int i = 0; i < N_COMMANDS; i++)
                if (strcmp(argv[2], commands[i].name) == 0) {
                    char *sub[] = {argv[2], "--help", NULL};
                    return commands[i].fn(2, sub);
                }
            return clv_cli_usage_error(NULL, "unknown command '%s'", argv[2]);
        }
        usage(stdout);
        return CLV_EXIT_OK;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("cleave %s\n", CLV_VERSION);
        return CLV_EXIT_OK;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(cmd, commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    if (cmd[0] == '-') return clv_cli_usage_error(NULL, "unknown option '%s'", cmd);
    return clv_cli_usage_error(NULL, "unknown command '%s'", cmd);
}
