package dev.entrokit.bench;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a JMH {@code @Benchmark} method as one workload of {@code ./entrokit bench}: the runner finds
 * every such method in JMH's benchmark list, so adding a workload is adding a method (in a class that
 * implements {@link WorkloadInputs}) and, for peers, a Python module under {@code bench/peers/}.
 * The benchmark class must have {@code @Param String backend} and {@code @Param int threads}.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Workload {
    /** The workload's name in tables and JSON, e.g. {@code W1-softmax-entropy}. */
    String value();
}
