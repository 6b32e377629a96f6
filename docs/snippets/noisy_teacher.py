"""Single-index GD on a noisy teacher converges to the empirical minimiser, not θ* (docs/findings.md)."""
import numpy as np, deqverify as dv
rng = np.random.default_rng(0)
X = rng.standard_normal((200, 3)); xi = np.array([1.0, -0.5, 0.3])
model = dv.SingleIndexDEQ("tanh")
targets = np.tanh(X @ xi) + 0.1 * rng.standard_normal(200)        # noisy teacher
risk = dv.EmpiricalRisk(model, X, targets, xi=xi)
run = dv.gradient_descent(risk, np.r_[xi, 0.0] + 0.05, 0.2, 3000, record_every=500)
print("r = ||θ - θ*||² along GD:", np.array2string(run.distance_to_truth, precision=3))
print("‖∇R‖ along GD:", np.array2string(run.grad_norm, precision=2))
print("final θ:", np.array2string(run.final_theta, precision=4), "θ* =", np.r_[xi, 0.0])
