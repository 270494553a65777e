// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets on a port, found in another process: a child holds a UDP socket
 * (and a dup of it), a TCP listener and one accepted connection on
 * ephemeral ports; the test finds them through /proc, takes them with
 * pidfd_getfd and checks inode, cookie and owner. Taking needs ptrace
 * rights over the child, which its parent has.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sockets.h"
#include "unit.h"

struct held {
	uint16_t udp_port, tcp_port;
	int udp_fd, udp_dup, listen_fd;
	uint64_t udp_ino, listen_ino;
};

static int bound(int type, uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, type, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static uint64_t inode_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (uint64_t)st.st_ino;
}

/* The child: opens everything, reports it, waits for the pipe to close. */
static void hold(int report, int wait_fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct held h = {};
	int client;
	char c;

	h.udp_fd = bound(SOCK_DGRAM, &h.udp_port);
	h.udp_dup = dup(h.udp_fd);
	h.listen_fd = bound(SOCK_STREAM, &h.tcp_port);
	listen(h.listen_fd, 4);
	/* a connection whose accepted end shares the listener's port */
	client = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = htons(h.tcp_port);
	connect(client, (struct sockaddr *)&a, sizeof(a));
	accept(h.listen_fd, NULL, NULL);
	h.udp_ino = inode_of(h.udp_fd);
	h.listen_ino = inode_of(h.listen_fd);
	write(report, &h, sizeof(h));
	read(wait_fd, &c, 1);
	_exit(0);
}

int main(void)
{
	int report[2], wait_fd[2], own, n, sfd;
	struct fp_port_socket *s = NULL;
	struct held h;
	uint16_t own_port;
	uint64_t ino[8];
	char comm[32];
	pid_t child;

	if (pipe(report) || pipe(wait_fd))
		return 1;
	fflush(stdout);
	child = fork();
	if (child == 0) {
		close(wait_fd[1]); /* or its read never sees the end */
		hold(report[1], wait_fd[0]);
	}
	close(wait_fd[0]);
	if (read(report[0], &h, sizeof(h)) != sizeof(h))
		return 1;

	struct fp_socket_query udp = {.proto = IPPROTO_UDP, .port = h.udp_port};
	struct fp_socket_query tcp = {.proto = IPPROTO_TCP, .port = h.tcp_port};
	struct fp_socket_query mine = {
		.proto = IPPROTO_UDP, .pids = &child, .nr_pids = 1};

	n = fp_port_inodes(&udp, ino, 8);
	UNIT_CHECK(n == 1 && ino[0] == h.udp_ino,
		   "inodes: the UDP socket bound to the port");
	n = fp_port_inodes(&tcp, ino, 8);
	UNIT_CHECK(n == 1 && ino[0] == h.listen_ino,
		   "inodes: TCP, only the listener");
	tcp.any_state = true;
	n = fp_port_inodes(&tcp, ino, 8);
	UNIT_CHECK(n == 2, "inodes: any state adds the accepted connection");
	tcp.any_state = false;

	n = fp_port_sockets(&udp, &s);
	UNIT_CHECK(n == 1 && s[0].pid == child && s[0].fd == h.udp_fd &&
			   s[0].inode == h.udp_ino,
		   "sockets: held once, by its first fd, though dup'd");
	free(s);
	n = fp_port_sockets(&tcp, &s);
	UNIT_CHECK(n == 1 && s[0].fd == h.listen_fd, "sockets: the listener");
	free(s);

	own = bound(SOCK_DGRAM, &own_port);
	udp.port = own_port;
	n = fp_port_sockets(&udp, &s);
	UNIT_CHECK(fp_port_inodes(&udp, ino, 8) == 1 && n == 0,
		   "sockets: this process's own are left out");
	free(s);
	mine.port = h.udp_port;
	n = fp_port_sockets(&mine, &s);
	UNIT_CHECK(n == 1, "sockets: of the given process");
	free(s);
	pid_t other = child + 1000000;
	mine.pids = &other;
	n = fp_port_sockets(&mine, &s);
	UNIT_CHECK(n == 0, "sockets: none of another process");
	free(s);

	sfd = fp_take_fd(child, h.udp_fd);
	UNIT_CHECK(sfd >= 0 && inode_of(sfd) == h.udp_ino,
		   "take: our copy is the same socket");
	UNIT_CHECK(sfd >= 0 && fp_socket_cookie(sfd) != 0,
		   "cookie: the socket has one");
	UNIT_CHECK(fp_socket_cookie(own) != fp_socket_cookie(sfd),
		   "cookie: another socket has another");
	if (sfd >= 0)
		close(sfd);
	UNIT_CHECK(fp_take_fd(child, 999) == -EBADF,
		   "take: a fd the process lacks is -EBADF");
	UNIT_CHECK(fp_take_fd(-1, 0) < 0, "take: no such process");
	UNIT_CHECK(fp_fd_is_socket(child, h.udp_fd, h.udp_ino) &&
			   !fp_fd_is_socket(child, h.udp_fd, h.listen_ino),
		   "fd check: by inode");
	fp_proc_comm(child, comm, sizeof(comm));
	UNIT_STREQ(comm, "test_sockets", "comm: the holder's name");

	close(own);
	close(wait_fd[1]);
	waitpid(child, NULL, 0);
	fp_proc_comm(child, comm, sizeof(comm));
	UNIT_STREQ(comm, "", "comm: empty once the process is gone");
	return unit_done();
}
