import * as tf from '@tensorflow/tfjs';

/**
 * The one place the tfjs backend is chosen: tfjs-node's native kernels when that optional
 * package is installed, otherwise the wasm backend (about 12x the plain cpu backend for a
 * recurrent net here). Models save and load through our own tf.io handlers (models/store.ts),
 * so the choice does not change the files.
 */
export type Tf = typeof tf;

export async function initBackend(prefer?: 'node' | 'wasm' | 'cpu'): Promise<string> {
  const want = prefer ?? (process.env.FORESIGHT_TF_BACKEND as 'node' | 'wasm' | 'cpu' | undefined);
  if (want !== 'wasm' && want !== 'cpu') {
    try {
      require('@tensorflow/tfjs-node');
      await tf.setBackend('tensorflow');
      await tf.ready();
      return tf.getBackend();
    } catch {
      // optional dependency absent (its install needs a download this machine cannot make)
    }
  }
  if (want !== 'cpu') {
    require('@tensorflow/tfjs-backend-wasm');
    if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
  } else if (tf.getBackend() !== 'cpu') {
    await tf.setBackend('cpu');
  }
  await tf.ready();
  return tf.getBackend();
}

export { tf };
