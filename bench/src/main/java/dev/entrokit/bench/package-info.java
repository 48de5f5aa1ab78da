/** JMH benchmarks of entrokit's kernels. */
package dev.entrokit.bench;
