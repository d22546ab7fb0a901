package main

import "syscall"

// childAttr makes a service process die with the test binary, even when the test binary itself is killed
// (a timeout, ^C): no service outlives its test.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
