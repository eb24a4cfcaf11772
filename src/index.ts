/**
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"

/**
 * @since 0.1.0
 */
export * as Framing from "./Framing.js"

/**
 * @since 0.1.0
 */
export * as InstanceStatus from "./InstanceStatus.js"

/**
 * @since 0.1.0
 */
export * as PoolEvent from "./PoolEvent.js"

/**
 * @since 0.1.0
 */
export * as PoolOptions from "./PoolOptions.js"

/**
 * @since 0.1.0
 */
export * as Presets from "./Presets.js"

/**
 * @since 0.1.0
 */
export * as RestartPolicy from "./RestartPolicy.js"

/**
 * @since 0.1.0
 */
export * as ToolPool from "./ToolPool.js"

/**
 * @since 0.1.0
 */
export * as ToolPoolError from "./ToolPoolError.js"

/**
 * @since 0.1.0
 */
export * as ToolPoolTest from "./ToolPoolTest.js"

/**
 * @since 0.1.0
 */
export * as ToolPoolMetrics from "./ToolPoolMetrics.js"

/**
 * @since 0.2.0
 */
export * as Transport from "./Transport.js"
