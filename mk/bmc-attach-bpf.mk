# bmc-attach's BPF object is built from bpf/bmc-attach.bpf.c and the data
# path's headers by concern under bpf/bmc/.
$(BUILD)/bmc-attach.bpf.o: $(wildcard bpf/bmc/*.h)
