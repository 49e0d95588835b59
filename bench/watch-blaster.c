/*
 * SIP traffic for the watch benchmark, on loopback only: calls as sipp's default scenario makes
 * them (INVITE, 100 Trying, 180 Ringing, 200 OK, ACK, BYE, 200 OK) between 64 client sockets on 127.0.0.1:40000-40063 and a "server" socket on
 * 127.0.0.1:5060, paced to a fixed packet rate. Bounded in packets and seconds; the
 * destination is always 127.0.0.1. Prints "sent N" once a second and at the end.
 *
 *   watch-blaster PACKETS_PER_SECOND TOTAL_PACKETS MAX_SECONDS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLIENTS 64

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bound(int port) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  int small = 4096;
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("bind");
    exit(2);
  }
  return s;
}

static void to(int s, int port, const char *msg, int len) {
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sendto(s, msg, len, 0, (struct sockaddr *)&a, sizeof a);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: watch-blaster PPS TOTAL MAX_SECONDS\n");
    return 2;
  }
  double pps = atof(argv[1]);
  long total = atol(argv[2]);
  double maxs = atof(argv[3]);
  if (pps <= 0 || pps > 2e6 || total <= 0 || total > 100000000 || maxs <= 0 || maxs > 600) {
    fprintf(stderr, "watch-blaster: out of bounds\n");
    return 2;
  }
  int server = bound(5060);
  int clients[CLIENTS];
  for (int i = 0; i < CLIENTS; i++) clients[i] = bound(40000 + i);
  char buf[1024];
  long sent = 0, call = 0;
  double t0 = now(), lastReport = t0;
  while (sent < total) {
    double t = now();
    if (t - t0 > maxs) break;
    long due = (long)((t - t0) * pps);
    if (due > total) due = total;
    while (sent < due) {
      int c = call % CLIENTS, port = 40000 + c;
      int step = sent % 7;
      static const char *const first[7] = {"INVITE sip:bob@127.0.0.1 SIP/2.0", "SIP/2.0 100 Trying", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK",
                                           "ACK sip:bob@127.0.0.1 SIP/2.0", "BYE sip:bob@127.0.0.1 SIP/2.0", "SIP/2.0 200 OK"};
      /* CSeq method and number, branch suffix (the ACK of a 2xx and the BYE are new transactions), To tag. */
      const char *method = step == 4 ? "ACK" : step >= 5 ? "BYE" : "INVITE";
      int cseq = step >= 5 ? 2 : 1;
      const char *suffix = step == 4 ? "a" : step >= 5 ? "b" : "";
      int n = snprintf(buf, sizeof buf,
                       "%s\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%ld%s\r\nFrom: <sip:alice@127.0.0.1>;tag=a%ld\r\nTo: <sip:bob@127.0.0.1>%s\r\n"
                       "Call-ID: bench-%ld@127.0.0.1\r\nCSeq: %d %s\r\nContact: <sip:alice@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n",
                       first[step], port, call, suffix, call, step >= 2 ? ";tag=b1" : "", call, cseq, method, port);
      /* Requests from the client, responses from the server. */
      if (step == 0 || step == 4 || step == 5) to(clients[c], 5060, buf, n);
      else to(server, port, buf, n);
      sent++;
      if (step == 6) call++;
    }
    if (t - lastReport >= 1) {
      printf("sent %ld\n", sent);
      fflush(stdout);
      lastReport = t;
    }
    usleep(200);
  }
  printf("sent %ld in %.3f s\n", sent, now() - t0);
  return 0;
}
